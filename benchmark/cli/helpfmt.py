"""How every command line of the package prints help and reports a bad flag."""

from __future__ import annotations

import argparse


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Show each flag's default once: argparse's ``(default: X)`` is added unless the default is empty
    (None, False, []: it would say nothing) or the help text already states it (``(default 64 on CPU,
    1024 on GPU) (default: None)`` read twice)."""

    def _get_help_string(self, action):
        if (
            action.default is None
            or action.default is False
            or action.default == []
            or "default" in (action.help or "")
        ):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line naming the help to read (no usage dump).

    Subcommand parsers made by :meth:`add_subparsers` are of this class too, so every command's bad
    flag is one line; every parser uses :class:`DefaultsHelp` unless told otherwise.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelp)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D401
        hint = f"python {self.prog}" if self.prog.split()[0].endswith(".py") else self.prog
        self.exit(2, f"error: {message}; see {hint} --help\n")
