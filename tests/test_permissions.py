"""Files we write honour the umask (a new file is 0666 & ~umask, not mkstemp's 0600) and a replaced
file keeps its mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
import torch

from benchmark.io import atomic_save_npz, atomic_torch_save, atomic_write_json, atomic_write_text
from benchmark.report.leaderboard import COLUMNS, append_rows, update_leaderboard


@pytest.fixture()
def umask():
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(Path(p).stat().st_mode)


def _row(**kw):
    row = dict(
        dataset="dsprites_mini",
        data_source="procedural",
        preset="tiny",
        model="ae",
        hyperparameters="",
        metric="mig",
        label="AE",
        kind="model",
        mean=0.1,
        std=float("nan"),
        n=1,
        seeds="0",
        steps=30,
        entry="measured",
        device="cpu",
        git_commit="x",
        command="",
    )
    return {**row, **kw}


def test_new_files_follow_the_umask(tmp_path, umask):
    import numpy as np

    written = [
        atomic_write_text(tmp_path / "results.csv", "a\n"),
        atomic_write_json(tmp_path / "m.json", {"a": 1}),
        atomic_save_npz(tmp_path / "codes.npz", a=np.zeros(2)),
        atomic_torch_save(tmp_path / "c.pt", {"w": torch.zeros(1)}),
    ]
    assert [_mode(p) for p in written] == [0o644] * 4
    update_leaderboard(
        pd.DataFrame(
            [
                dict(
                    run_id="ae-s0",
                    kind="model",
                    model="ae",
                    label="AE",
                    hyperparameters="",
                    seed=0,
                    dataset="dsprites_mini",
                    data_source="procedural",
                    preset="tiny",
                    steps=30,
                    mig=0.2,
                )
            ]
        ),
        tmp_path / "leaderboard.csv",
    )
    assert _mode(tmp_path / "leaderboard.csv") == 0o644
    umask(0o077)
    assert _mode(atomic_write_text(tmp_path / "private.txt", "x")) == 0o600


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    board = tmp_path / "leaderboard.csv"
    pd.DataFrame([_row()], columns=COLUMNS).to_csv(board, index=False)
    os.chmod(board, 0o664)  # a group-shared leaderboard
    append_rows(
        board,
        pd.DataFrame([_row(model="submitted:x", label="x", kind="submitted", entry="submitted")], columns=COLUMNS),
    )
    assert _mode(board) == 0o664
    update_leaderboard(
        pd.DataFrame(
            [
                dict(
                    run_id="ae-s0",
                    kind="model",
                    model="ae",
                    label="AE",
                    hyperparameters="",
                    seed=0,
                    dataset="dsprites_mini",
                    data_source="procedural",
                    preset="tiny",
                    steps=30,
                    mig=0.3,
                )
            ]
        ),
        board,
    )
    assert _mode(board) == 0o664 and "0.3" in board.read_text()
