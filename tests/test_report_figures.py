"""Figures and summary.md from a saved results.csv alone (no run folders, no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.report import figures as F
from benchmark.report import refresh
from benchmark.report.published import published_table, read_published, write_published


def _results_csv(path):
    rows = []
    for seed in (0, 1):
        for label, kind, model, beta, score in (
            ("PCA", "baseline", "pca", np.nan, 0.7),
            ("raw pixels", "baseline", "pixels", np.nan, 0.4),
            ("AE", "model", "ae", 0.0, 0.6),
            ("VAE (beta=1)", "model", "vae", 1.0, 0.62),
            ("beta-VAE (beta=4)", "model", "beta_vae", 4.0, 0.8),
        ):
            rows.append(
                dict(
                    run_id=f"{model}-s{seed}",
                    kind=kind,
                    model=model,
                    label=label,
                    hyperparameters="" if np.isnan(beta) or model == "ae" else f"beta={beta:g}",
                    beta=beta,
                    normalised_beta=beta * 10 / 4096,
                    seed=seed,
                    dataset="dsprites",
                    data_source="procedural",
                    preset="quick",
                    steps=3000,
                    beta_vae_reference=score + 0.01 * seed,
                    beta_vae_paper=score,
                    mig=score / 4,
                    recon_bce=np.nan if kind == "baseline" else 30 + 10 * beta,
                    kl=np.nan if kind == "baseline" else 30 / (1 + beta),
                    active_units=np.nan if kind == "baseline" else 10 - beta,
                    device="cpu",
                    git_commit="abc",
                    smoke_test=True,
                )
            )
    pd.DataFrame(rows).to_csv(path / "results.csv", index=False)


def test_figures_and_summary_from_results_csv_alone(tmp_path):
    _results_csv(tmp_path)
    df, made = refresh(tmp_path, rebuild_table=False)
    tag = "dsprites_quick"
    for key in ("comparison", "scores_vs_beta", "scores_vs_normalised_beta", "tradeoff"):
        paths = made[f"{key}_{tag}"]
        assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
        assert all(p.stat().st_size > 1000 for p in paths)
    summary = (tmp_path / "summary.md").read_text()
    assert "figures/comparison_dsprites_quick.png" in summary and "Smoke test" in summary
    assert "| PCA |" in summary and "84.9 ± 0.4" in summary  # ours beside published, not merged
    assert (tmp_path / "leaderboard.csv").exists() and (tmp_path / "published.csv").exists()
    assert len(pd.read_csv(tmp_path / "results.csv")) == 10  # the saved table was used, not rebuilt


def test_comparison_table_keeps_published_apart():
    df = pd.DataFrame(
        dict(
            label=["PCA", "PCA", "beta-VAE (beta=4)"],
            kind=["baseline", "baseline", "model"],
            beta=[np.nan, np.nan, 4.0],
            beta_vae_paper=[0.8, 0.9, 0.95],
        )
    )
    t = F.comparison_table(df, published_table(), "dsprites").set_index("representation")
    assert t.loc["PCA", "ours_beta_vae_paper"] == 85.0 and t.loc["PCA", "published"] == 84.9
    assert np.isnan(t.loc["InfoGAN", "ours_beta_vae_paper"]) and t.loc["InfoGAN", "published"] == 73.5
    assert t.loc["beta-VAE (beta=4)", "published"] == 99.23


def test_published_csv_round_trip_marks_numbers_as_recalled(tmp_path):
    write_published(tmp_path / "p.csv")
    p = read_published(tmp_path / "p.csv")
    assert set(p.confidence) == {"recalled"} and (p.paper.str.contains("Higgins")).all()
    assert p.set_index("representation").loc["raw pixels", "value"] == 45.75


def test_per_run_figures_from_saved_arrays(tmp_path):
    rng = np.random.default_rng(0)
    arr = dict(
        traversal=rng.uniform(size=(3, 5, 1, 64, 64)).astype(np.float32),
        kl_sorted=np.array([2.0, 1.0, 0.0]),
        dims_sorted=np.array([2, 0, 1]),
        values=np.linspace(-3, 3, 5),
        kl_per_dim=np.array([1.0, 0.0, 2.0]),
        inputs=rng.uniform(size=(4, 1, 64, 64)),
        reconstructions=rng.uniform(size=(4, 1, 64, 64)),
    )
    np.savez(tmp_path / "arrays.npz", **arr)
    paths = F.plot_run(tmp_path / "arrays.npz", tmp_path / "out", "r1", "test")
    assert {p.name for p in paths} >= {"r1_traversal.png", "r1_kl.png", "r1_reconstructions.png"}
    assert F.plot_run(tmp_path / "missing.npz", tmp_path / "out", "r2", "x") == []


def _arrays(rng):
    return dict(
        traversal=rng.uniform(size=(3, 5, 1, 64, 64)).astype(np.float32),
        kl_sorted=np.array([2.0, 1.0, 0.0]),
        dims_sorted=np.array([2, 0, 1]),
        values=np.linspace(-3, 3, 5),
        kl_per_dim=np.array([1.0, 0.0, 2.0]),
        inputs=rng.uniform(size=(2, 1, 64, 64)),
        reconstructions=rng.uniform(size=(2, 1, 64, 64)),
    )


def test_figures_without_run_folders_keep_traversals_and_per_run_figures(tmp_path):
    """A fresh checkout has no runs/*/ (git-ignored): `figures` used to drop both summary sections."""
    import shutil

    _results_csv(tmp_path)
    df = pd.read_csv(tmp_path / "results.csv")
    trained = df[df.kind == "model"].run_id
    rng = np.random.default_rng(0)
    for rid in trained:
        (tmp_path / "runs" / rid / "figures").mkdir(parents=True)
        np.savez(tmp_path / "runs" / rid / "figures" / "arrays.npz", **_arrays(rng))
    refresh(tmp_path, rebuild_table=False)
    first = (tmp_path / "summary.md").read_text()
    assert "### Latent traversals" in first and "### Per-run figures" in first and "not drawn" not in first
    shutil.rmtree(tmp_path / "runs")
    _, made = refresh(tmp_path, rebuild_table=False)
    assert (tmp_path / "summary.md").read_text() == first  # the same sections, linking the kept files
    assert made["traversals_dsprites_quick"] and all(f"run_{rid}" in made for rid in trained)
    # a run whose figures were never drawn here is named, not silently left out
    (tmp_path / "figures" / "runs" / f"{trained.iloc[0]}_kl.png").unlink()
    refresh(tmp_path, rebuild_table=False)
    summary = (tmp_path / "summary.md").read_text()
    assert "Per-run figures not drawn** for 1 run(s)" in summary and f"`{trained.iloc[0]}`" in summary


def test_run_ids_that_are_paths_are_refused_before_any_file_is_written(tmp_path):
    """A run_id holding '../' or an absolute path would make figures write outside the results folder."""
    import pytest

    from benchmark.errors import BenchmarkError
    from benchmark.report.results import read_results

    results = tmp_path / "results"
    results.mkdir()
    for bad in ("../../escaped", str(tmp_path / "abs")):
        _results_csv(results)
        df = pd.read_csv(results / "results.csv")
        df.loc[2, "run_id"] = bad
        df.to_csv(results / "results.csv", index=False)
        with pytest.raises(BenchmarkError, match=r"results.csv line 4: run_id .* is not a plain name"):
            read_results(results)
        with pytest.raises(BenchmarkError, match="is not a plain name"):
            refresh(results, rebuild_table=False)
        with pytest.raises(BenchmarkError, match="is not a plain name"):
            F.build_all(df, published_table(), results, results / "figures")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert not (results / "figures").exists()


# ------------------------------------------------------------------------------------------------
# reading at a glance: fixed score axes, beta ticks, sd only with seeds, names not identifiers


def _seeds_table(seeds=(0,)):
    rows = []
    for seed in seeds:
        for model, beta in (("ae", 0.0), ("vae", 1.0), ("beta_vae", 4.0), ("beta_vae", 16.0)):
            rows.append(
                {
                    "run_id": f"{model}-{beta:g}-s{seed}",
                    "kind": "model",
                    "model": model,
                    "label": model,
                    "beta": beta,
                    "normalised_beta": beta * 10 / 4096,
                    "seed": seed,
                    "dataset": "dsprites",
                    "preset": "quick",
                    "dci_disentanglement": 0.018 + 0.006 * beta / 16 + 0.001 * seed,
                    "gaussian_total_correlation": 4.0 - beta / 8,
                    "recon_bce": 60 + 4 * beta + seed,
                    "kl": np.nan if model == "ae" else 30 / (1 + beta),
                    "active_units": np.nan if model == "ae" else 10,
                }
            )
    return pd.DataFrame(rows)


def _texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return [t for t in out if t]


def test_scores_in_unit_interval_on_a_fixed_axis_and_unbounded_ones_marked():
    fig = F.against_beta_figure(_seeds_table(), ["dci_disentanglement", "gaussian_total_correlation"], "beta", "t")
    dci, tc = fig.axes[:2]
    assert dci.get_ylim() == (0.0, 1.0)  # 0.018 .. 0.024 no longer fills the panel like a trend
    assert tc.get_ylim() != (0.0, 1.0) and "unbounded" in tc.get_ylabel()
    assert dci.get_title() == "DCI disentanglement" and tc.get_title() == "Gaussian total correlation (nats)"


def test_beta_axis_is_ticked_at_the_betas_run():
    fig = F.against_beta_figure(_seeds_table(), ["recon_bce", "kl"], "beta", "t")
    for ax in fig.axes[:2]:
        assert ax.get_xscale() == "log"
        assert list(ax.get_xticks()) == [1.0, 4.0, 16.0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "4", "16"]  # not 10^0, 10^1
        assert len(ax.get_xticks(minor=True)) == 0
    fig = F.against_beta_figure(_seeds_table(), ["recon_bce"], "normalised_beta", "t")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.00244", "0.00977", "0.0391"]


def test_sd_is_said_and_drawn_only_with_more_than_one_seed():
    one = F.against_beta_figure(_seeds_table((0,)), ["dci_disentanglement"], "beta", "t")
    assert not any("sd" in t for t in _texts(one)) and one._suptitle.get_text() == "t (1 seed)"
    assert not one.axes[0].containers[0].has_yerr
    two = F.against_beta_figure(_seeds_table((0, 1)), ["dci_disentanglement"], "beta", "t")
    assert two._suptitle.get_text() == "t (mean ± sd over 2 seeds)" and two.axes[0].containers[0].has_yerr
    one_pca = pd.DataFrame({"label": ["PCA"], "kind": ["baseline"], "beta": [np.nan], "beta_vae_paper": [0.8]})
    table = F.comparison_table(one_pca, published_table(), "dsprites")
    fig = F.comparison_figure(table, "t")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "ours: paper variant (1 seed)" and not any("sd" in t for t in labels[:-1])


def test_comparison_legend_lies_outside_the_bars():
    import matplotlib

    matplotlib.use("Agg", force=True)
    two_pca = pd.DataFrame(
        {"label": ["PCA", "PCA"], "kind": ["baseline"] * 2, "beta": [np.nan] * 2, "beta_vae_paper": [0.8, 0.9]}
    )
    table = F.comparison_table(two_pca, published_table(), "dsprites")
    fig = F.comparison_figure(table, "t")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.x0 >= axes_box.x1  # right of the axes: it covers no bar


def test_traversal_range_is_said():
    rng = np.random.default_rng(0)
    vae, ae = _arrays(rng), {**_arrays(rng), "rank_by": np.asarray("var")}
    assert F.traversal_range_text([vae]) == (
        "z_i from -3 to +3 sd around a seed image's code, 5 steps (sd = 1, the prior's)"
    )
    assert "the AE: its code's sd over images" in F.traversal_range_text([vae, ae])


def test_every_score_column_has_a_proper_name():
    from benchmark.report.results import GENERATIVE_COLUMNS, SCORE_COLUMNS
    from benchmark.results.columns import column_label

    for c in SCORE_COLUMNS + GENERATIVE_COLUMNS:
        assert column_label(c) != c and "_" not in column_label(c), c
    assert column_label("mig_sampled") == "MIG (histogram estimator), sampled code"


# ------------------------------------------------------------------------------------------------
# determinism: the same stored numbers give the same bytes, whoever draws them


def _pictures(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".png", ".pdf")
    }


def test_two_renders_are_byte_identical_and_carry_no_date_or_version(tmp_path):
    _results_csv(tmp_path)
    refresh(tmp_path, rebuild_table=False, figures_dir=tmp_path / "a")
    refresh(tmp_path, rebuild_table=False, figures_dir=tmp_path / "b")
    a, b = _pictures(tmp_path / "a"), _pictures(tmp_path / "b")
    assert len(a) == 8 and a == b
    for name, data in a.items():
        assert b"matplotlib" not in data.lower() and b"CreationDate" not in data, name


def _write_finished_runs(root, seeds=(0, 1)):
    """metrics.json files with many-digit numbers: results.csv keeps 6 significant digits of them."""
    from benchmark.io import atomic_write_json
    from benchmark.results import layout

    for seed in seeds:
        for model, beta in (("ae", None), ("vae", 1.0), ("beta_vae", 4.0)):
            rid = f"{model}-s{seed}"
            params = {} if beta is None else {"beta": beta}
            b = beta or 0.0
            spec = {
                "kind": "model",
                "model": model,
                "params": params,
                "seed": seed,
                "dataset": "dsprites",
                "data_source": "procedural",
                "preset": "quick",
                "train": {"num_latents": 10, "steps": 3000},
                "eval": {},
            }
            m = {
                "run_id": rid,
                "spec": spec,
                "dataset_info": {"num_pixels": 4096},
                "scores": {
                    "beta_vae_reference": 0.71234567891 + 0.0123456789 * b + 0.0011111 * seed,
                    "mig": 0.0312345678 * (1 + b) + 0.00123456789 * seed,
                },
                "generative": {
                    "recon_bce": 61.23456789 + 7.7777777 * b + seed / 3,
                    "kl": None if beta is None else 22.3456789 / (1 + b),
                },
            }
            atomic_write_json(layout.run_dir(root, rid) / layout.METRICS_FILE, m)


def test_run_all_and_figures_draw_the_same_bytes(tmp_path):
    """run_all ends with refresh(rebuild_table=True); `figures` redraws from the saved results.csv."""
    _write_finished_runs(tmp_path)
    refresh(tmp_path, figures_dir=tmp_path / "sweep")  # what run_all.py does at the end of a sweep
    refresh(tmp_path, rebuild_table=False, figures_dir=tmp_path / "figures")  # python -m benchmark figures
    sweep, figures = _pictures(tmp_path / "sweep"), _pictures(tmp_path / "figures")
    assert len(sweep) == 8 and sweep == figures
