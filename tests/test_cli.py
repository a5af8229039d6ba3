"""The one command line: every command reachable with working help, ``python -m benchmark run`` ==
``python run_all.py``, one-line errors, loud import failures, the layers below never importing it,
process settings applied by the entry points, and the rule for default output paths."""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import build_parser, main
from benchmark.cli.helpfmt import DefaultsHelp

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    ["data", "list"],
    ["data", "prepare"],
    ["data", "download"],
    ["data", "show"],
    ["train"],
    ["evaluate"],
    ["figures"],
    ["compare"],
    ["run"],
]


def _py(*args, cwd=ROOT, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def _subparsers(parser: argparse.ArgumentParser) -> dict:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_parser_lists_every_command_group():
    """The groups are imported, not tried: a missing one would be an import error, never a missing command."""
    top = _subparsers(build_parser())
    assert sorted(top) == ["compare", "data", "evaluate", "figures", "run", "train"]
    assert sorted(_subparsers(top["data"])) == ["download", "list", "prepare", "show"]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main(command + ["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f"usage: disentangle-bench {' '.join(command)} ")


def test_a_module_that_fails_to_import_is_not_skipped(tmp_path):
    # None in sys.modules makes Python refuse the import (the way a broken module would fail)
    code = (
        "import sys; sys.modules['benchmark.cli.evaluate'] = None\n"
        "from benchmark.cli import main\n"
        f"main(['data', 'list', '--data-dir', {str(tmp_path)!r}])"
    )
    p = _py("-c", code)
    assert p.returncode == 1 and "ModuleNotFoundError: import of benchmark.cli.evaluate halted" in p.stderr
    assert "data root" not in p.stdout


def test_python_m_benchmark_run_is_run_all():
    via_module = _py("-m", "benchmark", "run", "--help")
    via_script = _py("run_all.py", "--help")
    assert via_module.returncode == via_script.returncode == 0
    assert via_module.stdout.startswith("usage: python -m benchmark run [-h]")
    assert via_script.stdout.startswith("usage: run_all.py [-h]")

    def split(text, prog):  # the usage wraps at the prog's width: compare its words, then the rest exactly
        usage, rest = text.split("\n\n", 1)
        return usage.replace(prog, "", 1).split(), rest

    assert split(via_module.stdout, "python -m benchmark run") == split(via_script.stdout, "run_all.py")


def test_bad_flag_values_are_one_error_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "gan"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: argument --model: invalid choice: 'gan'") and err.endswith(
        "; see disentangle-bench train --help\n"
    )
    # the shared --device is resolved by the one resolver in every command
    assert main(["evaluate", "--baseline", "pca", "--dataset", "dsprites_mini", "--device", "tpu"]) == 2
    assert capsys.readouterr().err == "error: unknown device 'tpu'; use auto, cpu, cuda, cuda:N or mps\n"
    p = _py("run_all.py", "--preset", "nope")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.endswith("; see python run_all.py --help\n")


def _all_parsers(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, path + (name,))


def test_every_flag_states_its_default_once():
    for path, parser in _all_parsers(build_parser()):
        assert parser.formatter_class is DefaultsHelp, path
        for action in parser._actions:
            if action.help in (None, argparse.SUPPRESS) or isinstance(action, argparse._HelpAction):
                continue
            shown = DefaultsHelp("x")._get_help_string(action)
            where = (path, action.dest)
            if action.default is None or action.default is False or action.default == []:
                assert "%(default)" not in shown and "(default: None)" not in shown, where
            else:
                assert shown.replace("%(default)s", "").count("default") == 1, where


def test_shared_flags_have_one_help_text():
    helps: dict = {}
    for path, parser in _all_parsers(build_parser()):
        for action in parser._actions:
            if action.dest in ("data_dir", "device", "data_source", "results_dir"):
                helps.setdefault(action.dest, set()).add((action.help, repr(action.default)))
    assert set(helps) == {"data_dir", "device", "data_source", "results_dir"}
    assert all(len(v) == 1 for v in helps.values()), helps


def _imports(path: Path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_layers_below_never_import_the_cli_and_metrics_never_import_models():
    pkg = ROOT / "benchmark"
    for f in pkg.rglob("*.py"):
        if pkg / "cli" in f.parents or f == pkg / "__main__.py":
            continue
        assert not any(n == "benchmark.cli" or n.startswith("benchmark.cli.") for n in _imports(f)), f
    for f in (pkg / "metrics").rglob("*.py"):
        assert not any(n.startswith("benchmark.models") for n in _imports(f)), f


def test_importing_benchmark_changes_no_process_setting_and_main_applies_them(tmp_path):
    env = {"GOMP_SPINCOUNT": "", "OMP_WAIT_POLICY": ""}
    code = (
        "import os\n"
        "for k in ('GOMP_SPINCOUNT', 'OMP_WAIT_POLICY'): os.environ.pop(k)\n"
        "import benchmark, benchmark.cli.run\n"
        "print(os.environ.get('GOMP_SPINCOUNT'))\n"
        "from benchmark.cli import main\n"
        f"main(['data', 'list', '--data-dir', {str(tmp_path)!r}])\n"
        "print(os.environ.get('GOMP_SPINCOUNT'))"
    )
    p = _py("-c", code, env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "None" and lines[-1] == "10000"


def test_default_outputs_lie_in_the_results_folder_of_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "show", "dsprites_mini"]) == 0
    assert (tmp_path / "results" / "datasets" / "dsprites_mini.png").is_file()
    assert main(["data", "show", "dsprites_mini", "--results-dir", "elsewhere"]) == 0
    assert (tmp_path / "elsewhere" / "datasets" / "dsprites_mini.png").is_file()
    from benchmark.cli.train import default_out

    assert default_out("beta_vae", {"beta": 4.0}, "dsprites", 0, "r") == Path("r/train/beta_vae_beta4_dsprites_seed0")
