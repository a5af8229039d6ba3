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
        for label, kind, model, beta, score in (("PCA", "baseline", "pca", np.nan, 0.7), ("raw pixels", "baseline", "pixels", np.nan, 0.4),
                                                 ("AE", "model", "ae", 0.0, 0.6), ("VAE (beta=1)", "model", "vae", 1.0, 0.62),
                                                 ("beta-VAE (beta=4)", "model", "beta_vae", 4.0, 0.8)):
            rows.append(dict(run_id=f"{model}-s{seed}", kind=kind, model=model, label=label,
                             hyperparameters="" if np.isnan(beta) or model == "ae" else f"beta={beta:g}", beta=beta,
                             normalised_beta=beta * 10 / 4096, seed=seed, dataset="dsprites", data_source="procedural",
                             preset="quick", steps=3000, beta_vae_reference=score + 0.01 * seed,
                             beta_vae_paper=score, mig=score / 4,
                             recon_bce=np.nan if kind == "baseline" else 30 + 10 * beta,
                             kl=np.nan if kind == "baseline" else 30 / (1 + beta),
                             active_units=np.nan if kind == "baseline" else 10 - beta, device="cpu", git_commit="abc"))
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
    df = pd.DataFrame(dict(label=["PCA", "PCA", "beta-VAE (beta=4)"], kind=["baseline", "baseline", "model"],
                           beta=[np.nan, np.nan, 4.0], beta_vae_paper=[0.8, 0.9, 0.95]))
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
    arr = dict(traversal=rng.uniform(size=(3, 5, 1, 64, 64)).astype(np.float32), kl_sorted=np.array([2.0, 1.0, 0.0]),
               dims_sorted=np.array([2, 0, 1]), values=np.linspace(-3, 3, 5), kl_per_dim=np.array([1.0, 0.0, 2.0]),
               inputs=rng.uniform(size=(4, 1, 64, 64)), reconstructions=rng.uniform(size=(4, 1, 64, 64)))
    np.savez(tmp_path / "arrays.npz", **arr)
    paths = F.plot_run(tmp_path / "arrays.npz", tmp_path / "out", "r1", "test")
    assert {p.name for p in paths} >= {"r1_traversal.png", "r1_kl.png", "r1_reconstructions.png"}
    assert F.plot_run(tmp_path / "missing.npz", tmp_path / "out", "r2", "x") == []


def _arrays(rng):
    return dict(traversal=rng.uniform(size=(3, 5, 1, 64, 64)).astype(np.float32), kl_sorted=np.array([2.0, 1.0, 0.0]),
                dims_sorted=np.array([2, 0, 1]), values=np.linspace(-3, 3, 5), kl_per_dim=np.array([1.0, 0.0, 2.0]),
                inputs=rng.uniform(size=(2, 1, 64, 64)), reconstructions=rng.uniform(size=(2, 1, 64, 64)))


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
