"""Leaderboard: aggregation over seeds, validation of malformed rows, ranking only within a group, merging."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.errors import BenchmarkError
from benchmark.report import leaderboard as L


def _results():
    rows = []
    for model, hyper, beta, vals in (
        ("vae", "beta=1", 1.0, [0.60, 0.70, 0.80]),
        ("beta_vae", "beta=4", 4.0, [0.9, 0.8, 1.0]),
    ):
        for seed, v in enumerate(vals):
            rows.append(
                dict(
                    run_id=f"{model}-{seed}",
                    kind="model",
                    model=model,
                    label=model,
                    hyperparameters=hyper,
                    beta=beta,
                    seed=seed,
                    dataset="dsprites",
                    data_source="procedural",
                    preset="quick",
                    steps=2000 if model == "vae" else 500,
                    beta_vae_reference=v,
                    recon_bce=10 * beta + seed,
                    kl=5.0 / beta,
                    device="cpu",
                    git_commit="abc",
                    rerun=f"--preset quick --dataset dsprites --data-source procedural "
                    f"--models {model} --baselines none" + ("" if model == "vae" else " --betas 4 --steps 500"),
                )
            )
    rows.append(
        dict(
            run_id="pca-0",
            kind="baseline",
            model="pca",
            label="PCA",
            hyperparameters="",
            beta=np.nan,
            seed=0,
            dataset="dsprites",
            data_source="procedural",
            preset="quick",
            steps=np.nan,
            beta_vae_reference=0.5,
            device="cpu",
            git_commit="abc",
            rerun="--preset quick --dataset dsprites --data-source procedural --models none --baselines pca",
        )
    )
    return pd.DataFrame(rows)


def test_aggregate_mean_std_count_and_reproduce_command():
    lb = L.aggregate(_results())
    r = lb[(lb.model == "vae") & (lb.metric == "beta_vae_reference")].iloc[0]
    assert r["mean"] == pytest.approx(0.7) and r["std"] == pytest.approx(0.1) and r["n"] == 3 and r["seeds"] == "0 1 2"
    assert r["command"] == (
        "python run_all.py --preset quick --dataset dsprites --data-source procedural --models vae "
        "--baselines none --seeds 0 1 2"
    )
    b = lb[(lb.model == "beta_vae") & (lb.metric == "beta_vae_reference")].iloc[0]
    assert b["command"].endswith("--betas 4 --steps 500 --seeds 0 1 2")
    old = _results().drop(columns="rerun")  # rows written before runs recorded how to rerun them
    assert set(L.aggregate(old)["command"]) == {""}
    p = lb[(lb.model == "pca")].iloc[0]
    assert p["n"] == 1 and math.isnan(p["std"]) and "--models none --baselines pca" in p["command"]
    assert set(lb.entry) == {"measured"}
    assert not (lb.metric == "kl").any() or set(lb[lb.metric == "kl"].model) == {"vae", "beta_vae"}


def test_write_read_round_trip_and_merge_keeps_other_rows(tmp_path):
    path = tmp_path / "leaderboard.csv"
    L.update_leaderboard(_results(), path)
    first = L.read_leaderboard(path)
    # a paper-preset row measured elsewhere and a submission must survive an update from new quick runs
    extra = first.iloc[[0, 1]].copy()
    extra["preset"] = "paper"
    sub = first.iloc[[0]].copy()
    sub["model"], sub["entry"], sub["kind"] = "submitted:mine", "submitted", "submitted"
    L.write_leaderboard(L.merge(first, pd.concat([extra, sub])), path)
    newer = _results()
    newer.loc[newer.model == "vae", "beta_vae_reference"] = 0.1
    after = L.update_leaderboard(newer, path)
    assert (after.preset == "paper").sum() == 2 and (after.entry == "submitted").sum() == 1
    vae = after[(after.model == "vae") & (after.metric == "beta_vae_reference") & (after.preset == "quick")]
    assert len(vae) == 1 and vae["mean"].iloc[0] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda df: df.drop(columns=["mean"]), "missing columns mean"),
        (
            lambda df: df.assign(mean=df["mean"].astype(object)).pipe(
                lambda d: d.__setitem__("mean", ["x"] + list(d["mean"][1:])) or d
            ),
            "line 2: mean 'x' is not a finite number",
        ),
        (lambda df: df.assign(n=[0] + list(df["n"][1:])), "line 2: n 0 is not a positive integer"),
        (lambda df: df.assign(entry=["mine"] + list(df["entry"][1:])), "entry 'mine'"),
        (lambda df: df.assign(dataset=[""] + list(df["dataset"][1:])), "empty dataset"),
        (lambda df: pd.concat([df, df.iloc[[0]]]), "duplicate row"),
    ],
)
def test_malformed_rows_are_refused_with_the_line(tmp_path, edit, match):
    path = tmp_path / "leaderboard.csv"
    L.update_leaderboard(_results(), path)
    bad = edit(pd.read_csv(path))
    bad.to_csv(path, index=False)
    with pytest.raises(BenchmarkError, match=match):
        L.read_leaderboard(path)


def test_unparseable_and_missing_files(tmp_path):
    with pytest.raises(BenchmarkError, match="no leaderboard"):
        L.read_leaderboard(tmp_path / "none.csv")
    p = tmp_path / "bad.csv"
    p.write_bytes(b'a,b\n"unterminated,1\n')
    with pytest.raises(BenchmarkError):
        L.read_leaderboard(p)


def test_rank_only_within_dataset_source_preset_metric():
    lb = L.aggregate(_results())
    other = lb.copy()
    other["dataset"] = "shapes3d"
    other["mean"] = 0.99
    board = pd.concat([lb, other], ignore_index=True)
    r = L.rank(
        board, dataset="dsprites", data_source="procedural", preset="quick", metric="beta_vae_reference", value=0.75
    )
    # peers: vae 0.7, beta_vae 0.9, pca 0.5 -> 0.75 is second of four; shapes3d rows ignored
    assert (r["rank"], r["of"]) == (2, 4) and r["rows"].iloc[0]["model"] == "beta_vae"
    lower = L.rank(board, dataset="dsprites", data_source="procedural", preset="quick", metric="recon_bce", value=0.0)
    assert lower["rank"] == 1 and not lower["better"]  # lower reconstruction error is better
    with pytest.raises(BenchmarkError, match="no beta_vae_reference rows for dataset dsprites \\(official\\)"):
        L.rank(board, dataset="dsprites", data_source="official", preset="quick", metric="beta_vae_reference", value=1)
    with pytest.raises(BenchmarkError, match="preset paper"):
        L.rank(
            board, dataset="dsprites", data_source="procedural", preset="paper", metric="beta_vae_reference", value=1
        )


def test_update_drops_metrics_the_results_no_longer_produce(tmp_path):
    """A metric dropped from the protocol must not linger with an older commit's value (was kept forever)."""
    path = tmp_path / "leaderboard.csv"
    L.update_leaderboard(_results().assign(git_commit="old"), path)
    first = L.read_leaderboard(path)
    # a row of a metric that aggregate() once emitted and no longer does (e.g. active_units_variance)
    gone = first[first.metric == "recon_bce"].assign(metric="active_units_variance", mean=6.0)
    sub = first[first.metric == "kl"].iloc[[0]].assign(model="submitted:mine", entry="submitted", kind="submitted")
    elsewhere = first[first.metric == "beta_vae_reference"].assign(preset="paper")  # measured on another machine
    L.write_leaderboard(L.merge(first, pd.concat([gone, sub, elsewhere])), path)
    # the new results no longer have kl either
    after = L.update_leaderboard(_results().drop(columns=["kl"]).assign(git_commit="new"), path)
    quick = after[(after.preset == "quick") & (after.entry == "measured")]
    assert not quick.metric.isin(["active_units_variance", "kl"]).any()
    assert set(quick.git_commit) == {"new"} and set(quick.metric) == {"beta_vae_reference", "recon_bce"}
    assert (after.entry == "submitted").sum() == 1 and (after.preset == "paper").sum() == len(elsewhere)


def test_integer_columns_stay_integer(tmp_path):
    path = tmp_path / "leaderboard.csv"
    L.update_leaderboard(_results(), path)  # the PCA baseline has no steps: pandas reads the column as float
    board = L.read_leaderboard(path)
    row = board.iloc[[0]].assign(model="submitted:x", entry="submitted", kind="submitted", steps=None)
    L.write_leaderboard(pd.concat([board, row], ignore_index=True), path)  # an object column, as compare --submit had
    text = path.read_text()
    assert ",2000," in text and ",500," in text and "2000.0" not in text and "500.0" not in text
