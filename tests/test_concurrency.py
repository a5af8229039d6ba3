"""Concurrent writers in real processes: two leaderboard submitters lose nothing, two trainers on one
folder give one clear line, two ``run_all.py`` on one results folder report each other's runs as
running elsewhere, not FAILED."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.data import load_dataset
from benchmark.metrics.baselines import ground_truth_codes
from benchmark.report.leaderboard import COLUMNS, read_leaderboard

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _row(model, metric, mean, steps=30):
    return dict(
        dataset="dsprites_mini",
        data_source="procedural",
        preset="tiny",
        model=model,
        hyperparameters="",
        metric=metric,
        label=model,
        kind="model",
        mean=mean,
        std=np.nan,
        n=1,
        seeds="0",
        steps=steps,
        entry="measured",
        device="cpu",
        git_commit="x",
        command="python run_all.py ...",
    )


def _py(*args, **kw):
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def _wait_for_lock(lock: Path, pid: int, proc, timeout=120.0) -> None:
    """Until ``lock`` names ``pid`` as its holder (it writes its pid once it holds the lock)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if lock.is_file() and lock.read_text().strip() == str(pid):
            return
        if proc.poll() is not None:
            pytest.fail(f"the first process ended early: {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"{lock} never named pid {pid}")


def test_two_submitters_in_two_processes_lose_nothing_and_rewrite_no_line(tmp_path):
    board = tmp_path / "leaderboard.csv"
    df = pd.DataFrame([_row("ae", "beta_vae_reference", 0.5), _row("ae", "mig", 0.05)], columns=COLUMNS)
    df["note"] = ["hand-added", ""]  # a column someone added by hand: submissions must keep it
    df.to_csv(board, index=False, float_format="%.6g")
    before = board.read_text().splitlines()
    codes = tmp_path / "gt.npy"
    np.save(codes, ground_truth_codes(load_dataset("dsprites_mini").grid))
    procs = {
        name: _py(
            "-m",
            "benchmark",
            "compare",
            "--leaderboard",
            str(board),
            "--preset",
            "tiny",
            "--device",
            "cpu",
            "--codes",
            str(codes),
            "--dataset",
            "dsprites_mini",
            "--name",
            name,
            "--submit",
        )
        for name in ("first", "second")
    }
    outs = {name: p.communicate(timeout=300) for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0 and f"as {name!r}" in outs[name][0], outs[name]
    after = board.read_text().splitlines()
    assert after[: len(before)] == before  # not one existing line rewritten
    sub = read_leaderboard(board).query("entry == 'submitted'")
    assert sorted(sub.label) == ["first", "first", "second", "second"]  # both submissions, nothing lost


# Many appends and sweep updates at once in real processes: without the lock, rows vanish.
_HAMMER = """
import sys, numpy as np, pandas as pd
from benchmark.report.leaderboard import COLUMNS, append_rows, update_leaderboard
who, path = sys.argv[1], sys.argv[2]
for i in range(15):
    row = dict(dataset="dsprites_mini", data_source="procedural", preset="tiny", model=f"submitted:{who}{i}",
               hyperparameters="", metric="mig", label=f"{who}{i}", kind="submitted", mean=0.1, std=np.nan, n=1,
               seeds="0", steps=None, entry="submitted", device="cpu", git_commit="x", command="")
    append_rows(path, pd.DataFrame([row], columns=COLUMNS))
    if who == "b":  # a sweep refreshing its measured rows meanwhile
        update_leaderboard(pd.DataFrame([dict(run_id="ae-s0", kind="model", model="ae", label="AE", hyperparameters="",
                                              seed=0, dataset="dsprites_mini", data_source="procedural", preset="tiny",
                                              steps=30, mig=0.2)]), path)
"""


def test_appends_and_sweep_updates_from_three_processes_keep_every_row(tmp_path):
    board = tmp_path / "leaderboard.csv"
    pd.DataFrame([_row("ae", "mig", 0.05)], columns=COLUMNS).to_csv(board, index=False)
    procs = [_py("-c", _HAMMER, who, str(board)) for who in ("a", "b", "c")]
    for p in procs:
        out = p.communicate(timeout=300)
        assert p.returncode == 0, out
    lb = read_leaderboard(board)
    assert len(lb.query("entry == 'submitted'")) == 45
    assert lb.query("entry == 'measured'")["mean"].tolist() == [0.2]


def test_two_trainers_on_one_folder_second_gets_one_clear_line(tmp_path):
    out = tmp_path / "run"
    cmd = [
        "-m",
        "benchmark",
        "train",
        "--model",
        "vae",
        "--dataset",
        "dsprites_mini",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-progress",
        "--out",
        str(out),
        "--log-every",
        "10",
        "--checkpoint-every",
        "10",
    ]
    first = _py(*cmd, "--steps", "100000")
    try:
        _wait_for_lock(out / ".lock", first.pid, first)
        second = subprocess.run(
            [sys.executable, *cmd, "--steps", "50"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
        )
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        assert second.stderr.strip().splitlines() == [
            f"error: {out} is being trained by another process (pid {first.pid}); wait for it or use another --out"
        ]
        assert first.poll() is None  # the first trainer goes on
    finally:
        first.kill()
        first.communicate()


def test_second_run_all_on_one_folder_reports_running_elsewhere_not_failed(tmp_path):
    argv = [
        "run_all.py",
        "--preset",
        "tiny",
        "--dataset",
        "dsprites_mini",
        "--models",
        "ae",
        "--baselines",
        "none",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-figures",
        "--results-dir",
        str(tmp_path),
        "--steps",
        "100000",
    ]
    first = _py(*argv)
    try:
        t0 = time.time()
        while not list((tmp_path / "runs").glob("*/train/.lock")):  # the first one is training
            assert time.time() - t0 < 120 and first.poll() is None, first.communicate()
            time.sleep(0.05)
        rid = next((tmp_path / "runs").iterdir()).name
        _wait_for_lock(tmp_path / "runs" / rid / ".lock", first.pid, first)
        second = subprocess.run([sys.executable, *argv], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    finally:
        first.kill()
        first.communicate()
    err = second.stderr
    assert second.returncode == 1 and "FAILED" not in err and "Traceback" not in err, err
    assert f"running elsewhere (pid {first.pid}): {rid}" in err
    assert "1 run(s) are being run by another process" in err
