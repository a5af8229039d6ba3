"""Sweep planning (run ids, grids, presets) and the executor seam (LocalExecutor, outcomes, run_one bookkeeping)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json
from benchmark.results import layout
from benchmark.sweep import executors, job, training
from benchmark.sweep.plan import BASELINES, RunSpec, fmt_value, make_run_id, model_grid, plan, rerun_record
from benchmark.sweep.presets import PRESETS, get_preset


def _plan(**kw):
    kw.setdefault("data_source", "procedural")
    return plan(get_preset(kw.pop("preset", "quick")), **kw)


def test_default_grid_trains_ae_once_and_beta1_is_the_vae():
    pairs = model_grid(["ae", "vae", "beta_vae"], {"--betas": [1, 4, 16]})
    assert pairs == [("ae", {}), ("vae", {"beta": 1.0}), ("beta_vae", {"beta": 4.0}), ("beta_vae", {"beta": 16.0})]
    # beta_vae alone with beta=1 still yields the single vae run; duplicates collapse
    assert model_grid(["beta_vae"], {"--betas": [4, 1, 4]}) == [("beta_vae", {"beta": 4.0}), ("vae", {"beta": 1.0})]
    assert model_grid(["factor_vae"], {"--gammas": [10]}) == [("factor_vae", {"gamma": 10.0})]


def test_plan_counts_and_order():
    specs = _plan(grids={"--betas": [1, 4, 16]}, seeds=[0, 1])
    assert len(specs) == (len(BASELINES) + 4) * 2
    assert [s.kind for s in specs[: 2 * len(BASELINES)]] == ["baseline"] * 2 * len(BASELINES)
    assert specs[-1].model == "beta_vae" and specs[-1].params == {"beta": 16.0} and specs[-1].seed == 1
    assert len({s.run_id for s in specs}) == len(specs)


def test_run_id_is_stable_readable_and_hashes_only_what_changes_results():
    a = _plan(models=["beta_vae"], grids={"--betas": [4]}, baselines=[], device="cpu")[0]
    b = _plan(models=["beta_vae"], grids={"--betas": [4]}, baselines=[], device="cuda", data_dir="/elsewhere")[0]
    c = plan(
        get_preset("quick").with_steps(10),
        models=["beta_vae"],
        grids={"--betas": [4]},
        baselines=[],
        data_source="procedural",
    )[0]
    d = _plan(models=["beta_vae"], grids={"--betas": [4]}, baselines=[], data_source="official")[0]
    assert a.run_id == b.run_id  # where it runs is not part of the id
    assert len({a.run_id, c.run_id, d.run_id}) == 3  # steps and data source are
    assert a.run_id.startswith("beta_vae-beta4-s0-") and len(a.run_id.rsplit("-", 1)[1]) == 10
    # the id is a pure function of the hashed config (same in another process, another day)
    assert make_run_id(a.hashed_dict()) == a.run_id
    # baselines other than the untrained network do not depend on the training recipe
    pa = [s for s in _plan(models=[]) if s.model == "pca"][0]
    pb = [s for s in plan(get_preset("quick").with_steps(7), models=[], data_source="procedural") if s.model == "pca"][
        0
    ]
    assert pa.run_id == pb.run_id


def test_spec_round_trip_and_tampered_id_refused():
    s = _plan(models=["vae"], baselines=[])[0]
    d = json.loads(json.dumps(s.to_dict()))
    assert RunSpec.from_dict(d) == s and RunSpec.from_dict(d).run_id == s.run_id
    d["params"] = {"beta": 2.0}
    with pytest.raises(BenchmarkError, match="hashes to"):
        RunSpec.from_dict(d)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(models=["nope"]), "unknown model 'nope'"),
        (dict(models=["beta_vae"], grids={"--betas": [-1]}), "--betas value -1.0 is invalid"),
        (dict(models=["beta_vae"], grids={"--betas": [float("nan")]}), "invalid"),
        (dict(seeds=[]), "no seeds"),
        (dict(seeds=[-3]), "seeds must be >= 0"),
        (dict(baselines=["pixel"]), "unknown baseline 'pixel'"),
    ],
)
def test_bad_plan_inputs_are_one_clear_error(kw, match):
    with pytest.raises(BenchmarkError, match=match):
        _plan(**kw)


def test_presets():
    assert PRESETS["paper"].train.steps == 300_000 and PRESETS["paper"].train.lr == 1e-4
    assert PRESETS["paper"].train.batch_size == 64 and PRESETS["paper"].note() is None
    q = get_preset("quick").with_steps(1234)
    assert q.train.steps == 1234 and "SMOKE TEST" in q.note() and "1,234" in q.note()
    assert PRESETS["paper_fc"].train.architecture == "fc" and PRESETS["paper_fc"].train.optimizer == "adagrad"
    with pytest.raises(BenchmarkError, match="unknown preset"):
        get_preset("fast")
    with pytest.raises(BenchmarkError, match="--steps"):
        get_preset("quick").with_steps(-1)
    assert fmt_value(4.0) == "4" and fmt_value(0.5) == "0.5"


# ------------------------------------------------------------------------------------------------
# executor seam


def _finish(results_dir: Path, spec) -> None:
    """Write a run's finished marker the way run_one does (its last step)."""
    atomic_write_json(
        layout.run_dir(results_dir, spec.run_id) / layout.METRICS_FILE,
        {"run_id": spec.run_id, "spec": spec.to_dict(), "scores": {}},
    )


def test_local_executor_skips_finished_runs_and_reports_failures_without_raising(tmp_path):
    specs = _plan(models=["beta_vae"], grids={"--betas": [4]}, baselines=["pca"], seeds=[0])
    _finish(tmp_path, specs[0])
    # the second spec's run folder is locked by "another writer": run_one must refuse, the sweep go on,
    # and the run is reported as running elsewhere, not as a failure
    import fcntl

    folder = layout.run_dir(tmp_path, specs[1].run_id)
    folder.mkdir(parents=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out = executors.LocalExecutor(jobs=1, verbose=False).run(specs, tmp_path)
    assert [o.run_id for o in out] == [s.run_id for s in specs]
    assert out[0].status == "skipped" and out[0].ok
    assert out[1].status == "running" and out[1].error.startswith("running elsewhere"), out[1]  # not FAILED
    assert job.is_finished(specs[0].to_dict(), tmp_path) and not job.is_finished(specs[1].to_dict(), tmp_path)


def test_run_one_returns_stored_metrics_of_a_finished_run(tmp_path):
    spec = _plan(models=["ae"], baselines=[])[0]
    _finish(tmp_path, spec)
    assert job.run_one(spec.to_dict(), str(tmp_path))["run_id"] == spec.run_id


def test_metrics_of_another_run_do_not_count_as_finished(tmp_path):
    a, b = _plan(models=["ae", "vae"], baselines=[])
    folder = layout.run_dir(tmp_path, b.run_id)
    atomic_write_json(folder / layout.METRICS_FILE, {"run_id": a.run_id})
    assert not job.is_finished(b.to_dict(), tmp_path)
    (folder / layout.METRICS_FILE).write_text("{truncated")
    assert not job.is_finished(b.to_dict(), tmp_path)


def test_get_executor_and_outcome_from_status():
    p = argparse.ArgumentParser()
    executors.add_executor_arguments(p)
    ex = executors.get_executor(p.parse_args(["--jobs", "3"]))
    assert isinstance(ex, executors.LocalExecutor) and ex.jobs == 3 and ex.name == "local"
    with pytest.raises(BenchmarkError, match="--jobs"):
        executors.get_executor(p.parse_args(["--jobs", "0"]))
    sl = executors.get_executor(p.parse_args(["--executor", "slurm", "--partition", "x"]))
    assert sl.name == "slurm"

    class St:  # the Slurm executor's status record shape
        run_id, state, error, job_id, log, seconds = "r1", "running", "job 7 is RUNNING", 7, "/l", 0.0

    o = executors.outcome_from_status(None, St())
    assert (o.run_id, o.status, o.job_id, o.ok) == ("r1", "running", "7", False)
    St.state = "weird"
    assert executors.outcome_from_status(None, St()).status == "failed"


def test_ensemble_groups_only_compatible_unfinished_model_runs():
    specs = _plan(
        models=["ae", "vae", "beta_vae", "factor_vae"],
        grids={"--betas": [1, 4, 16], "--gammas": [10]},
        seeds=[0, 1],
        baselines=["pca"],
    )
    groups = training.ensemble_groups([s.to_dict() for s in specs])
    by_model = {
        g[-1]["model"]: sorted((d["model"], d["params"].get("beta", d["params"].get("gamma", 0)), d["seed"]) for d in g)
        for g in groups
    }
    # the AE and factor_vae each form a seed pair; the VAE (beta = 1) joins beta 4 and 16 x 2 seeds in one group of 6
    assert by_model["beta_vae"] == [
        ("beta_vae", 4.0, 0),
        ("beta_vae", 4.0, 1),
        ("beta_vae", 16.0, 0),
        ("beta_vae", 16.0, 1),
        ("vae", 1.0, 0),
        ("vae", 1.0, 1),
    ]
    assert set(by_model) == {"ae", "beta_vae", "factor_vae"} and all(len(g) >= 2 for g in groups)
    other = plan(
        get_preset("quick").with_steps(5),
        models=["beta_vae"],
        grids={"--betas": [4]},
        baselines=[],
        data_source="procedural",
    )
    mixed = training.ensemble_groups([specs[-1].to_dict(), other[0].to_dict()])
    assert mixed == []  # different recipes never train together


def test_ensemble_flag_auto_is_off_on_cpu():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    executors.add_executor_arguments(p)
    assert executors.get_executor(p.parse_args([])).ensemble is False
    assert executors.get_executor(p.parse_args(["--ensemble", "on"])).ensemble is True


def test_recipe_with_the_sampled_representation_scores_it_too(tmp_path):
    # the locatello2019 study asks for both representations, as the reference's postprocess step
    vae, ae = plan(
        get_preset("tiny").with_steps(20),
        models=["vae", "ae"],
        baselines=[],
        dataset="dsprites_mini",
        data_source="procedural",
    )
    specs = []
    for s in (vae, ae):
        d = s.to_dict()
        d.pop("run_id")
        d["eval"] = {
            **d["eval"],
            "metrics": ["mig", "unsupervised"],
            "generative": False,
            "figures": False,
            "representations": ["mean", "sampled"],
        }
        specs.append(RunSpec(**d))
    m_vae = job.run_one(specs[0].to_dict(), str(tmp_path))
    m_ae = job.run_one(specs[1].to_dict(), str(tmp_path))
    assert {"mig", "mig_sampled", "gaussian_total_correlation_sampled"} <= set(m_vae["scores"])
    assert m_vae["scores"]["mig_sampled"] != m_vae["scores"]["mig"]
    assert m_vae["metric_details_sampled"]["representation"]["representation"] == "sampled"
    assert "mig" in m_ae["scores"] and "mig_sampled" not in m_ae["scores"]  # the AE has no variance
    # the results table carries the extra columns
    from benchmark.report.results import write_results

    df = write_results(tmp_path)
    assert "mig_sampled" in df.columns


def test_rerun_record_replans_the_run_with_its_data_source_and_steps():
    quick = get_preset("quick")
    specs = plan(
        quick.with_steps(500),
        models=["vae", "beta_vae"],
        grids={"--betas": [1, 4]},
        baselines=["pca"],
        seeds=[3],
        data_source="procedural",
    )
    rec = {(s.model, s.params.get("beta")): rerun_record(s) for s in specs}
    assert rec[("beta_vae", 4.0)] == {
        "rerun": "--preset quick --dataset dsprites --data-source procedural --models beta_vae "
        "--baselines none --betas 4 --steps 500",
        "smoke_test": True,
    }
    assert (
        rec[("pca", None)]["rerun"]
        == "--preset quick --dataset dsprites --data-source procedural --models none --baselines pca"
    )
    default = plan(quick, models=["vae"], grids={"--betas": [1]}, baselines=[], seeds=[0], data_source="official")[0]
    assert rerun_record(default)["rerun"].endswith("--data-source official --models vae --baselines none")  # no --steps
    assert (
        rerun_record(
            plan(
                get_preset("paper"),
                models=["vae"],
                grids={"--betas": [1]},
                baselines=[],
                seeds=[0],
                data_source="official",
            )[0]
        )["smoke_test"]
        is False
    )
