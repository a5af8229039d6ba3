"""The argparse help format every command line of the package shares."""
from __future__ import annotations

import argparse


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Show each flag's default, except empty ones (None, False, []) that say nothing and help texts
    that already state their default (``(default 64 on CPU, 1024 on GPU) (default: None)`` read twice)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default == [] \
                or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)
