"""results.csv from finished run folders; summary tables and the rate-distortion check."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json
from benchmark.report import results as R
from benchmark.report import summary as S
from benchmark.results import layout
from benchmark.sweep.plan import plan, rerun_record
from benchmark.sweep.presets import get_preset


def _write_runs(root, recon=(30.0, 34.0, 50.0, 110.0), kl=(40.0, 20.0, 7.0, 2.5), active=(10, 9, 7, 2)):
    specs = plan(
        get_preset("quick"),
        models=["ae", "vae", "beta_vae"],
        grids={"--betas": [1, 4, 16]},
        baselines=["pca"],
        seeds=[0],
        data_source="procedural",
    )
    for s in specs:
        i = {"ae": 0, "vae": 1}.get(s.model, 2 if s.params.get("beta") == 4 else 3)
        m = {
            "run_id": s.run_id,
            "spec": s.to_dict(),
            "scores": {"beta_vae_reference": 0.5 + 0.1 * i},
            "generative": {}
            if s.kind == "baseline"
            else {"recon_bce": recon[i], "kl": kl[i], "active_units": active[i]},
            "dataset_info": {"num_pixels": 4096, "data_generator": "g", "data_version": "1"},
            "num_latents": 10,
            "train": {"seconds": 1.5},
            "environment": {"device": "cpu", "torch": "x", "git_commit": "c0ffee"},
            "finished_at": "t",
            **rerun_record(s),
        }
        atomic_write_json(layout.run_dir(root, s.run_id) / layout.METRICS_FILE, m)
    return specs


def test_results_table_one_row_per_finished_run_with_provenance(tmp_path):
    specs = _write_runs(tmp_path)
    # an unfinished run (no metrics.json) and a stray file never appear
    (layout.run_dir(tmp_path, "beta_vae-beta2-s0-0000000000")).mkdir(parents=True)
    df = R.write_results(tmp_path)
    assert len(df) == len(specs) and set(df.run_id) == {s.run_id for s in specs}
    back = pd.read_csv(tmp_path / "results.csv")
    assert list(back.columns[:4]) == ["run_id", "kind", "model", "label"]
    b4 = back[back.label == "beta-VAE (beta=4)"].iloc[0]
    assert b4["normalised_beta"] == pytest.approx(4 * 10 / 4096) and b4["preset"] == "quick"
    assert b4["data_source"] == "procedural" and b4["data_generator"] == "g" and b4["git_commit"] == "c0ffee"
    assert b4["steps"] == get_preset("quick").train.steps and b4["train_seconds"] == 1.5
    ae = back[back.model == "ae"].iloc[0]
    assert ae["beta"] == 0  # the AE is the beta = 0 end of the trade-off
    # baselines come first, trained models ordered by beta
    assert list(back.label) == ["PCA", "AE", "VAE (beta=1)", "beta-VAE (beta=4)", "beta-VAE (beta=16)"]
    # the runs scored one metric; the table still has every documented column, empty where skipped
    assert set(R.COLUMNS) <= set(back.columns) and back[["mig", "dci_disentanglement", "elbo"]].isna().all().all()
    assert set(R.COLUMNS) <= set(R.build_table([]).columns)


def test_read_results_errors(tmp_path):
    with pytest.raises(BenchmarkError, match="no results table"):
        R.read_results(tmp_path)
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(BenchmarkError, match="not a results table"):
        R.read_results(tmp_path)


def test_tradeoff_check_says_yes_and_no(tmp_path):
    _write_runs(tmp_path)
    t = S.runs_table(R.write_results(tmp_path))
    checks = S.tradeoff_check(t)
    assert len(checks) == 4 and all(c.endswith("yes") for c in checks), checks
    bad = tmp_path / "bad"
    _write_runs(bad, recon=(30.0, 60.0, 50.0, 110.0), active=(10, 9, 1, 2))
    checks = S.tradeoff_check(S.runs_table(R.write_results(bad)))
    assert checks[0].endswith("NO") and checks[3].endswith("NO")
    text = S.print_summary(R.read_results(bad))
    assert "SMOKE TEST" in text and "beta-VAE (beta=16)" in text


def test_unconverged_adagrad_scores_are_named_in_the_summaries():
    df = pd.DataFrame(
        {"run_id": ["a", "b", "c"], "beta_vae_paper": [0.9, 0.4, None], "beta_vae_paper_converged": [True, False, None]}
    )
    note = S.adagrad_note(df)
    assert "1 of 2 runs" in note and "(b;" in note
    assert S.adagrad_note(df.assign(beta_vae_paper_converged=[True, True, None])) is None
    assert S.adagrad_note(df.drop(columns="beta_vae_paper_converged")) is None
    # read back from CSV the flag is a bool or its text; both count
    assert "1 of 2" in S.adagrad_note(df.assign(beta_vae_paper_converged=["True", "False", None]))


@pytest.mark.parametrize(
    "column,value,match",
    [
        ("beta", "abc", "line 2: beta 'abc' is not a number"),
        ("mig", "zz", "line 2: mig 'zz' is not a number"),
        ("seed", "x", "line 2: seed 'x' is not a non-negative integer"),
        ("model", "", "line 2: empty model"),
    ],
)
def test_read_results_names_the_bad_cell(tmp_path, column, value, match):
    _write_runs(tmp_path)
    df = R.write_results(tmp_path).astype(object)
    df.loc[0, column] = value
    df.to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(BenchmarkError, match=match):  # was a pandas traceback inside the aggregation
        R.read_results(tmp_path)


def test_figures_on_a_damaged_table_is_one_line_and_writes_nothing(tmp_path, capsys):
    from benchmark.cli import main

    _write_runs(tmp_path)
    df = R.write_results(tmp_path).drop(columns=["kind"])
    df.to_csv(tmp_path / "results.csv", index=False)
    assert main(["figures", "--results-dir", str(tmp_path), "--no-leaderboard"]) == 2
    assert "missing columns kind" in capsys.readouterr().err
    # a tokenizer error quotes pandas' message, which ends in a newline: still one line
    with open(tmp_path / "results.csv", "a") as f:
        f.write("a," * 200 + "\n")
    assert main(["figures", "--results-dir", str(tmp_path), "--no-leaderboard"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "summary.md").exists() and not (tmp_path / "figures").exists()
