"""``python -m benchmark compare``: scoring a checkpoint (ours or a user's MODULE:CALLABLE) or a codes
file with the leaderboard's protocol, ranking within one (dataset, source, preset, metric) group,
--submit, and the clear errors for malformed leaderboards and mismatched datasets."""

from __future__ import annotations

import hashlib
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.cli import main
from benchmark.data import load_dataset
from benchmark.metrics.baselines import ground_truth_codes
from benchmark.report.leaderboard import COLUMNS, read_leaderboard


def _row(model, metric, mean, dataset="dsprites_mini", preset="tiny", source="procedural", steps=30):
    return dict(
        dataset=dataset,
        data_source=source,
        preset=preset,
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


@pytest.fixture()
def board(tmp_path):
    rows = [
        _row("ae", "beta_vae_reference", 0.5),
        _row("vae", "beta_vae_reference", 0.6),
        _row("ae", "mig", 0.05),
        _row("vae", "mig", 0.1),
        _row("pca", "beta_vae_reference", 0.99, dataset="dsprites", preset="quick", steps=np.nan),
    ]
    path = tmp_path / "leaderboard.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False, float_format="%.6g")  # as write_leaderboard
    return path


@pytest.fixture(scope="module")
def gt_codes(tmp_path_factory):
    path = tmp_path_factory.mktemp("codes") / "gt.npy"
    np.save(path, ground_truth_codes(load_dataset("dsprites_mini").grid))
    return path


def _compare(board, *args):
    return main(["compare", "--leaderboard", str(board), "--preset", "tiny", "--device", "cpu", *args])


def test_codes_file_ranks_within_its_group_and_submits(board, gt_codes, capsys):
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini") == 0
    out = capsys.readouterr().out
    # ground-truth codes score 1.0 on the beta-VAE score: first of 3 (ae, vae, and this one);
    # the dsprites/quick PCA row (0.99) is in another group and is not counted
    line = next(ln for ln in out.splitlines() if ln.startswith("beta_vae_reference"))
    assert "1.0000" in line and "1 of 3" in line, out
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini", "--name", "truth", "--submit") == 0
    lb = read_leaderboard(board)
    sub = lb[lb.entry == "submitted"]
    assert set(sub.metric) == {"beta_vae_reference", "mig"} and set(sub.label) == {"truth"}
    assert (sub.dataset == "dsprites_mini").all() and (sub.preset == "tiny").all()
    # the same name again is refused
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini", "--name", "truth", "--submit") == 2
    assert "already has an entry named 'truth'" in capsys.readouterr().err


def test_submit_only_appends_and_records_device_and_commit(board, gt_codes):
    from benchmark.device import resolve_device
    from benchmark.results.provenance import git_commit

    before = board.read_text().splitlines()
    assert "30.0" not in board.read_text()  # a baseline's empty steps makes pandas read the column as float
    assert (
        main(
            [
                "compare",
                "--leaderboard",
                str(board),
                "--preset",
                "tiny",
                "--codes",
                str(gt_codes),
                "--dataset",
                "dsprites_mini",
                "--name",
                "truth",
                "--submit",
            ]
        )
        == 0
    )  # --device auto
    after = board.read_text().splitlines()
    assert [ln for ln in after if ln in before] == before  # every old line unchanged, in order (was 30 -> 30.0)
    assert len(after) == len(before) + 2
    sub = read_leaderboard(board).query("entry == 'submitted'")
    assert set(sub.device) == {resolve_device("auto")} and set(sub.git_commit) == {git_commit()}
    digest = hashlib.sha256(gt_codes.read_bytes()).hexdigest()
    assert set(sub.hyperparameters) == {f"codes_sha256={digest}"}  # the scored file, traceable


def test_unsupervised_scores_rank_lower_first_and_flags_are_not_scores(board, gt_codes, capsys, monkeypatch):
    from benchmark.sweep import scoring

    df = pd.read_csv(board)
    extra = [
        _row(m, metric, v)
        for m, metric, v in (
            ("ae", "gaussian_total_correlation", 4.15),
            ("vae", "gaussian_total_correlation", 0.91),
            ("vae", "gaussian_wasserstein_correlation_norm", 0.06),
        )
    ]
    pd.concat([df, pd.DataFrame(extra, columns=COLUMNS)]).to_csv(board, index=False)
    # ground-truth factors are independent: near-zero total correlation must rank first, not last
    fake = {
        "beta_vae_reference": 1.0,
        "gaussian_total_correlation": 0.0038,
        "gaussian_wasserstein_correlation_norm": 0.0003,
        "beta_vae_paper_converged": False,
        "_details": {},
    }
    monkeypatch.setattr(scoring, "score_representation", lambda *a, **k: dict(fake))
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini") == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(next(ln for ln in lines if ln.startswith("metric"))) :]
    assert "1 of 3" in next(ln for ln in table if ln.startswith("gaussian_total_correlation "))
    assert "1 of 2" in next(ln for ln in table if ln.startswith("gaussian_wasserstein_correlation_norm "))
    assert not any(ln.startswith("beta_vae_paper_converged") for ln in table)
    assert any("beta_vae_paper_converged = False" in ln for ln in table)  # shown as a flag
    rows = [ln for ln in table if ln.split()[0] in ("metric", *fake)]
    ends = (rows[0].index("score") + 5, rows[0].index("rank") + 4)  # right-aligned columns end under their header
    assert all(ln[e - 1] != " " and ln[e] == " " for ln in rows for e in ends), "\n".join(rows)


def test_our_checkpoint_and_a_user_callable(board, tmp_path, capsys, monkeypatch):
    from benchmark.models import build_model, make_config, save_checkpoint

    torch.manual_seed(0)
    model = build_model(make_config("beta_vae", beta=4.0))
    ours = tmp_path / "ours.pt"
    save_checkpoint(ours, model, {**model.config.to_dict(), "dataset": "dsprites_mini", "seed": 0})
    assert _compare(board, "--checkpoint", str(ours)) == 0
    assert "beta_vae_reference" in capsys.readouterr().out
    # a user's own module: CALLABLE() -> nn.Module with encode(); the checkpoint is its state_dict
    (tmp_path / "mymodels.py").write_text(
        textwrap.dedent("""
        import torch
        class Enc(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(64 * 64, 6)
            def encode(self, x):
                return self.lin(x.flatten(1))
        def build():
            return Enc()
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import mymodels

    torch.save(mymodels.build().state_dict(), tmp_path / "user.pt")
    assert (
        _compare(
            board, "--checkpoint", str(tmp_path / "user.pt"), "--model", "mymodels:build", "--dataset", "dsprites_mini"
        )
        == 0
    )
    assert "of 3" in capsys.readouterr().out
    # a state dict that does not fit the callable's module
    torch.save({"lin.weight": torch.zeros(3, 3)}, tmp_path / "bad.pt")
    assert (
        _compare(
            board, "--checkpoint", str(tmp_path / "bad.pt"), "--model", "mymodels:build", "--dataset", "dsprites_mini"
        )
        == 2
    )
    assert "does not fit mymodels:build()" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,match",
    [
        (["--codes", "{codes}", "--dataset", "dsprites"], "have 23040 rows but dataset dsprites has 737280 images"),
        (["--codes", "{codes}", "--dataset", "shapes3d"], "these codes belong to another dataset"),
        (["--codes", "{codes}"], "--codes needs --dataset"),
        (
            ["--codes", "{codes}", "--dataset", "dsprites_mini", "--preset", "quick"],
            "no dsprites_mini rows for data source procedural and preset quick",
        ),
        (["--checkpoint", "nope.pt", "--model", "x:y"], "checkpoint nope.pt not found"),
        (["--codes", "{codes}", "--checkpoint", "x.pt", "--dataset", "dsprites_mini"], "exactly one of"),
        (["--codes", "{codes}", "--dataset", "dsprites_mini", "--submit"], "--submit needs --name"),
        (["--codes", "{words}", "--dataset", "dsprites_mini"], "are of dtype <U1; save the encoder's float outputs"),
    ],
)
def test_mismatches_are_one_clear_error(board, gt_codes, capsys, args, match, tmp_path):
    words = tmp_path / "words.npy"  # strings where codes belong: was a TypeError from np.isfinite
    np.save(words, np.full((23040, 2), "a"))
    args = [a.replace("{codes}", str(gt_codes)).replace("{words}", str(words)) for a in args]
    assert _compare(board, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err and err.count("\n") == 1, err


def test_checkpoint_trained_on_another_dataset_is_refused(board, tmp_path, capsys):
    from benchmark.models import build_model, make_config, save_checkpoint

    model = build_model(make_config("ae"))
    path = tmp_path / "ae.pt"
    save_checkpoint(path, model, {**model.config.to_dict(), "dataset": "dsprites", "seed": 0})
    assert _compare(board, "--checkpoint", str(path), "--dataset", "dsprites_mini") == 2
    assert "trained on dsprites but --dataset is dsprites_mini" in capsys.readouterr().err


def test_malformed_leaderboard_is_refused_before_scoring(board, gt_codes, capsys):
    df = pd.read_csv(board)
    df["mean"] = df["mean"].astype(object)
    df.loc[1, "mean"] = "oops"
    df.to_csv(board, index=False)
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini") == 2
    assert "line 3: mean 'oops' is not a finite number" in capsys.readouterr().err


def test_dataset_without_leaderboard_rows_is_refused(board, gt_codes, capsys):
    df = pd.read_csv(board)
    df[df.dataset == "dsprites"].to_csv(board, index=False)
    assert _compare(board, "--codes", str(gt_codes), "--dataset", "dsprites_mini") == 2
    assert "has no rows for dataset dsprites_mini (it has: dsprites)" in capsys.readouterr().err


def test_npz_codes_zero_width_codes_and_blank_names_are_one_clear_line(board, gt_codes, tmp_path, capsys):
    """Were tracebacks (an npz opens as a mapping; (N, 0) codes failed inside a metric), and a blank
    --name was accepted."""
    npz = tmp_path / "codes.npz"
    np.savez(npz, codes=np.load(gt_codes))
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((len(np.load(gt_codes)), 0), np.float32))
    cases = [
        (["--codes", str(npz)], r"codes.npz is an .npz archive \(arrays: codes\), not one array"),
        (["--codes", str(empty)], r"shape \(23040, 0\): zero code dimensions"),
        (["--codes", str(gt_codes), "--name", "   ", "--submit"], "--name is blank"),
        (["--codes", str(gt_codes), "--name", "a\nb", "--submit"], "holds control characters"),
    ]
    before = board.read_text()
    for args, match in cases:
        assert _compare(board, *args, "--dataset", "dsprites_mini") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and __import__("re").search(match, err[0]), err
    assert board.read_text() == before
