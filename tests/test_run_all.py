"""End to end: ``run_all.py`` on the tiny preset (dsprites_mini, a few dozen steps, small metric samples).

Checks every output file, the printed table, resume after an interrupted run (same results.csv as an
uninterrupted run), skipping of finished runs, and one-line errors for bad flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import run_all
from benchmark.cli.run import build_parser, make_plan
from benchmark.results import layout
from benchmark.sweep import job, scoring, training

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--preset",
    "tiny",
    "--dataset",
    "dsprites_mini",
    "--steps",
    "30",
    "--betas",
    "1",
    "8",
    "--baselines",
    "pca",
    "ground_truth",
    "--device",
    "cpu",
    "--threads",
    "1",
]

# Columns that legitimately differ between two runs of the same config (timings, clocks).
VOLATILE = {"train_seconds", "eval_seconds", "wall_seconds", "finished_at", "git_commit"}


def _run(tmp: Path, *extra: str) -> int:
    return run_all.main(TINY + ["--results-dir", str(tmp)] + list(extra))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    assert _run(out) == 0
    return out


@pytest.mark.slow
def test_end_to_end_writes_every_output(full_run, capsys):
    df = pd.read_csv(full_run / "results.csv")
    # AE + VAE (beta=1) + beta=8, and two baselines
    assert sorted(df.label) == sorted(["AE", "VAE (beta=1)", "beta-VAE (beta=8)", "PCA", "ground truth"])
    for col in (
        "beta_vae_reference",
        "mig",
        "recon_bce",
        "kl",
        "active_units",
        "normalised_beta",
        "data_source",
        "train_seconds",
        "torch",
        "sklearn",
        "device",
        "preset",
        "steps",
    ):
        assert col in df.columns, col
    # the tiny preset scores two metrics, yet the table has the documented column set (others empty)
    from benchmark.report.results import COLUMNS

    assert set(COLUMNS) <= set(df.columns) and df["factor_vae"].isna().all() and df["sap"].isna().all()
    trained = df[df.kind == "model"]
    assert trained["recon_bce"].notna().all() and (trained["steps"] == 30).all()
    for rid in trained.run_id:
        folder = layout.run_dir(full_run, rid)
        for name in (
            "config.json",
            "metrics.json",
            "train/checkpoint.pt",
            "train/train_log.csv",
            "codes",
            "figures/arrays.npz",
        ):
            assert (folder / name).exists(), (rid, name)
        m = json.loads((folder / "metrics.json").read_text())
        assert m["environment"]["torch"] and m["dataset_info"]["dataset"] == "dsprites_mini"
    for name in ("leaderboard.csv", "published.csv", "summary.md"):
        assert (full_run / name).exists()
    figs = {p.name for p in (full_run / "figures").iterdir()}
    assert {
        "comparison_dsprites_mini_tiny.png",
        "tradeoff_dsprites_mini_tiny.pdf",
        "scores_vs_beta_dsprites_mini_tiny.png",
        "traversals_dsprites_mini_tiny.png",
    } <= figs
    assert any(p.name.endswith("_traversal.png") for p in (full_run / "figures" / "runs").iterdir())
    summary = (full_run / "summary.md").read_text()
    assert "SMOKE TEST" in summary and "tradeoff_dsprites_mini_tiny.png" in summary


@pytest.mark.slow
def test_rerun_skips_everything(full_run, capsys):
    before = (full_run / "results.csv").read_text()
    assert _run(full_run) == 0
    err = capsys.readouterr().err
    assert "0 to run" in err and "from before" in err
    assert (full_run / "results.csv").read_text() == before


@pytest.mark.slow
def test_resume_after_interruption_gives_the_same_results(full_run, tmp_path):
    # Interrupt: run only part of the sweep, and kill one run's training after its first checkpoint by
    # deleting its finished marker and truncating it back to a partial state is not possible from outside,
    # so interrupt for real: a child process killed mid-sweep.
    cmd = [sys.executable, str(ROOT / "run_all.py")] + TINY + ["--results-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # wait until the first trained run has a checkpoint, then kill the whole sweep
    import time

    deadline = time.time() + 120
    while time.time() < deadline:
        if (
            any((d / "train" / "checkpoint.pt").exists() for d in (tmp_path / "runs").glob("ae-*"))
            if (tmp_path / "runs").exists()
            else False
        ):
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (tmp_path / "results.csv").exists() or len(pd.read_csv(tmp_path / "results.csv")) < 5
    assert _run(tmp_path) == 0
    a = pd.read_csv(full_run / "results.csv").drop(columns=list(VOLATILE), errors="ignore")
    b = pd.read_csv(tmp_path / "results.csv").drop(columns=list(VOLATILE), errors="ignore")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--betas", "x"], "error: argument --betas: invalid float value: 'x'"),
        (["--betas", "-2"], "error: --betas value -2.0 is invalid"),
        (["--preset", "fast"], "error: argument --preset: invalid choice"),
        (["--dataset", "nope"], "error: unknown dataset 'nope'"),
        (["--models", "gan"], "error: unknown model 'gan'"),
        (["--jobs", "0"], "error: --jobs must be at least 1"),
        (["--steps", "-5"], "error: --steps must be >= 0"),
        (["--steps", "0"], "error: --steps 0 trains nothing: its models would be scored untrained"),
        (["--device", "tpu"], "error: unknown device"),
        (["--models", "none", "--baselines", "none"], "error: nothing to run"),
        (["--threads", "0"], "error: --threads must be between 1 and"),
        (["--threads", "100000", "--jobs", "2"], "error: --threads must be between 1 and"),
    ],
)
def test_bad_flags_are_one_clear_line(tmp_path, argv, match):
    p = subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), "--results-dir", str(tmp_path), "--preset", "tiny"] + argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert p.returncode == 2 and len(lines) == 1 and match in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_help_documents_every_flag():
    p = subprocess.run(
        [sys.executable, str(ROOT / "run_all.py"), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0
    for flag in (
        "--betas",
        "--models",
        "--gammas",
        "--dataset",
        "--seeds",
        "--preset",
        "--steps",
        "--device",
        "--results-dir",
        "--data-dir",
        "--executor",
        "--jobs",
        "--baselines",
        "--partition",
    ):
        assert flag in p.stdout, flag


def test_dry_run_lists_the_plan(tmp_path, capsys):
    assert run_all.main(TINY + ["--results-dir", str(tmp_path), "--dry-run", "--seeds", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("todo") == 10 and "beta_vae-beta8-s1-" in out
    assert not (tmp_path / "runs").exists()


def test_results_dir_that_is_a_file_is_one_line_before_any_run(tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("keep")
    # was one failed run per spec, then a FileExistsError traceback from writing results.csv
    p = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_all.py"),
            "--results-dir",
            str(f),
            "--preset",
            "tiny",
            "--dataset",
            "dsprites_mini",
            "--models",
            "none",
            "--baselines",
            "ground_truth",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr and "FAILED" not in p.stderr, p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("error: cannot create --results-dir folder")
    assert f.read_text() == "keep"


@pytest.mark.slow
def test_ensembles_train_first_then_worker_processes_score(tmp_path):
    """--ensemble on --jobs 2: the VAE and the beta-VAE train as one ensemble in this process, then two
    worker processes score every run (the AE trains in its worker); each run records how it was trained."""
    assert _run(tmp_path, "--ensemble", "on", "--jobs", "2") == 0
    df = pd.read_csv(tmp_path / "results.csv")
    assert len(df) == 5  # ae, vae, beta_vae 8, pca, ground_truth
    trained = {}
    for f in (tmp_path / "runs").glob("*/metrics.json"):
        d = json.loads(f.read_text())
        if d.get("train"):
            trained[d["spec"]["model"]] = (
                d["train"]["engine"],
                d["train"]["ensemble_size"],
                d["train"]["images_per_s"],
            )
    assert trained["vae"][:2] == ("host", 2) and trained["beta_vae"][:2] == ("host", 2)
    assert trained["ae"][:2] == ("host", 1)
    assert all(rate > 0 for _, _, rate in trained.values())  # the ensemble's speed, not the scoring call's 0


def _read_only(folder: Path):
    """Make ``folder`` read-only for this process: chmod for a user, the immutable attribute for root
    (root ignores modes); None where neither is possible."""
    import os

    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        return None
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_read_only_results_folder_is_one_line(tmp_path):
    """Was one FAILED line per run (twice) and then the real error."""
    undo = _read_only(tmp_path)
    if undo is None:
        pytest.skip("cannot make a folder read-only here")
    try:
        p = subprocess.run(
            [sys.executable, str(ROOT / "run_all.py"), *TINY, "--results-dir", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        undo()
    lines = [ln for ln in p.stderr.splitlines() if not ln.startswith(("plan:", "NOTE:"))]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert lines[0].startswith(f"error: cannot write in --results-dir folder {tmp_path}: ")
    assert lines[0].endswith("; make it writable or pass another folder")
    assert list(tmp_path.iterdir()) == []


def test_a_resumed_run_records_every_thread_count_it_trained_with(tmp_path):
    """A run trained 10 steps on 1 thread, killed, then resumed to 20 on 2: metrics.json lists both."""

    from benchmark.sweep.plan import RunSpec

    args = build_parser().parse_args(TINY + ["--models", "ae", "--baselines", "none", "--steps", "20"])
    spec = make_plan(args)[0][0]
    short = RunSpec.from_dict({**spec.to_dict(), "run_id": None, "threads": 1, "train": {**spec.train, "steps": 10}})
    folder = layout.run_dir(tmp_path, spec.run_id)
    training.train_model(short, folder, "cpu", scoring.load_run_dataset(spec))  # the call that was "killed" at step 10
    m = job.run_one({**spec.to_dict(), "threads": 2}, str(tmp_path))
    assert m["train"]["threads_history"] == [{"from_step": 0, "threads": 1}, {"from_step": 10, "threads": 2}]
    assert m["train"]["threads"] == 2 and m["train"]["resumed_from"] == 10


def test_paper_preset_on_a_cpu_warns_and_the_dry_run_estimates_its_hours(tmp_path, capsys):
    argv = [
        "--preset",
        "paper",
        "--betas",
        "1",
        "4",
        "--baselines",
        "none",
        "--device",
        "cpu",
        "--dry-run",
        "--results-dir",
        str(tmp_path),
    ]
    assert run_all.main(argv) == 0
    out, err = capsys.readouterr()
    assert "WARNING: preset paper trains up to 300,000 steps per model, meant for a GPU: about 8.5 h per model" in err
    # 3 runs x 300,000 steps at the recorded 9.8 steps/s, plus the reference suite's scoring per run
    assert "estimated device hours (2-core x86-64 CPU, 2 torch threads): 26 (8.60 per run" in out
    assert (
        run_all.main(
            ["--preset", "tiny", "--baselines", "none", "--device", "cpu", "--dry-run", "--results-dir", str(tmp_path)]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "WARNING" not in err and "estimated" not in out  # no estimate at non-reference metric sizes


def test_every_recorded_rerun_command_replans_the_same_run():
    """A leaderboard row's command must rerun exactly its runs: the same ids, on the same data source."""
    from benchmark.sweep.plan import rerun_record

    argv = TINY + [
        "--models",
        "ae",
        "beta_vae",
        "--betas",
        "1",
        "4",
        "--seeds",
        "0",
        "2",
        "--steps",
        "30",
        "--data-source",
        "procedural",
        "--baselines",
        "pca",
    ]
    specs, _ = make_plan(build_parser().parse_args(argv))
    for s in specs:
        again, _ = make_plan(build_parser().parse_args(rerun_record(s)["rerun"].split() + ["--seeds", str(s.seed)]))
        assert [a.run_id for a in again] == [s.run_id]
