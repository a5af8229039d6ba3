"""Tests for benchmark.sweep.slurm and slurm_config: flags and config file, and a real single-node Slurm cluster.

The cluster tests start slurmctld/slurmd/slurmdbd/munged/mariadbd in a temporary folder (see
tests/slurm_cluster.py), submit through submitit, cancel one job and SIGKILL another mid-run,
rerun, and check that only unfinished runs are resubmitted and that they resume from their
checkpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.sweep import slurm, slurm_config
from slurm_cluster import slurm_cluster, toy_value  # noqa: F401  (fixture)


# ---------------------------------------------------------------------------------------------
# configuration (no cluster needed)


def _parse(argv):
    p = argparse.ArgumentParser()
    slurm_config.add_executor_arguments(p)
    return p.parse_args(argv)


@pytest.mark.parametrize(
    "text,minutes",
    [
        (90, 90),
        ("90", 90),
        ("1:30:00", 90),
        ("01:30:01", 91),
        ("2-00:00:00", 2880),
        ("2-3", 3060),
        ("45:30", 46),
        ("0:10", 1),
    ],
)
def test_parse_time_limit_accepts_slurm_forms(text, minutes):
    assert slurm_config.parse_time_limit(text) == minutes


@pytest.mark.parametrize("bad", ["abc", "1:2:3:4", "-5:00", "1h"])
def test_parse_time_limit_rejects_garbage(bad):
    with pytest.raises(BenchmarkError, match="HH:MM:SS"):
        slurm_config.parse_time_limit(bad)


def test_flags_override_config_file(tmp_path):
    cfg_file = tmp_path / "slurm.toml"
    cfg_file.write_text(
        '[slurm]\npartition = "gpu"\ntime-limit = "02:00:00"\ncpus-per-job = 4\n'
        'gpus-per-job = 1\nmem-gb = 16\nsetup = ["module load cuda"]\n'
    )
    ex = slurm.make_executor(_parse(["--slurm-config", str(cfg_file), "--cpus-per-job", "2"]))
    c = ex.config
    assert (c.partition, c.time_limit, c.cpus_per_job, c.gpus_per_job, c.mem_gb, c.setup) == (
        "gpu",
        120,
        2,
        1,
        16.0,
        ["module load cuda"],
    )
    assert ex.wait and not ex.collect


def test_json_config_and_defaults(tmp_path):
    f = tmp_path / "slurm.json"
    f.write_text(json.dumps({"partition": "debug", "time_limit": 30}))
    c = slurm.make_executor(_parse(["--slurm-config", str(f), "--no-wait"]))
    assert (c.config.partition, c.config.time_limit, c.config.cpus_per_job, c.config.gpus_per_job) == (
        "debug",
        30,
        1,
        0,
    )
    assert not c.wait


@pytest.mark.parametrize(
    "content,match",
    [
        ('partitoin = "x"\n', "unknown key 'partitoin'"),
        ("cpus-per-job = 0\n", "at least 1"),
        ("mem-gb = 'lots'\n", "bad value"),
        ("partition = \n", "cannot parse"),
    ],
)
def test_bad_config_file_is_one_clear_error(tmp_path, content, match):
    f = tmp_path / "c.toml"
    f.write_text(content)
    with pytest.raises(BenchmarkError, match=match):
        slurm.make_executor(_parse(["--slurm-config", str(f)]))


def test_missing_config_file_and_conflicting_flags(tmp_path):
    with pytest.raises(BenchmarkError, match="not found"):
        slurm.make_executor(_parse(["--slurm-config", str(tmp_path / "nope.toml")]))
    with pytest.raises(BenchmarkError, match="exclude each other"):
        slurm.make_executor(_parse(["--no-wait", "--collect"]))


def test_sbatch_parameters_follow_the_config(tmp_path):
    """The sbatch file submitit would write carries the partition, limits and resources."""
    from slurm_cluster import require_cluster

    require_cluster()  # submitit present (a failure, not a skip, under CI)
    import submitit

    cfg = slurm_config.make_config(
        partition="p1", time_limit="0:30:00", cpus_per_job=3, gpus_per_job=2, mem_gb=1.5, account="acc"
    )
    ex = slurm.SlurmExecutor(cfg)
    params = dict(ex._sbatch_parameters())
    text = submitit.slurm.slurm._make_sbatch_string(command="true", folder=tmp_path, **params)
    for line in (
        "--partition=p1",
        "--time=30",
        "--cpus-per-task=3",
        "--gpus-per-node=2",
        "--mem=1536MB",
        "--account=acc",
        "export OMP_NUM_THREADS=3",
    ):
        assert line in text, line


def test_tail_reads_last_lines(tmp_path):
    f = tmp_path / "log"
    f.write_text("".join(f"line {i}\n" for i in range(100)))
    assert slurm.tail(f, 3) == "line 97\nline 98\nline 99"
    assert slurm.tail(tmp_path / "missing") == ""


# ---------------------------------------------------------------------------------------------
# the real cluster: executor mechanics with a toy job (sleeps between checkpointed steps)


def _wait_for(pred, timeout, what):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _step(results: Path, rid: str) -> int:
    ck = results / "runs" / rid / "checkpoint.json"
    try:
        return json.loads(ck.read_text())["step"]
    except (OSError, ValueError):
        return 0


def _config(**kw):
    return slurm_config.make_config(
        partition="debug",
        time_limit=5,
        cpus_per_job=1,
        mem_gb=0.5,
        poll_s=0.5,
        results_timeout_s=1,
        lost_after_s=30,
        **kw,
    )


@pytest.mark.slurm
def test_rejected_submission_is_one_clear_error(slurm_cluster, tmp_path):
    cfg = slurm_config.make_config(partition="no_such_partition", time_limit=5, mem_gb=0.5)
    ex = slurm.SlurmExecutor(cfg, job_module="slurm_cluster", progress=False)
    with pytest.raises(BenchmarkError, match=r"sbatch refused the submission \(.*[Pp]artition"):
        ex.run_statuses([{"run_id": "r", "seed": 0, "steps": 1}], tmp_path)
    assert slurm.load_jobs(tmp_path)["runs"] == {}  # nothing recorded for a job that never existed


@pytest.mark.slurm
def test_toy_sweep_survives_cancel_kill_and_raise(slurm_cluster, tmp_path, capsys):
    results = tmp_path / "results"
    long = dict(steps=60, sleep=0.25)
    specs = [
        {"run_id": "cancelled", "seed": 1, **long},
        {"run_id": "killed", "seed": 2, **long},
        {"run_id": "ok", "seed": 3, "steps": 5, "sleep": 0.0},
        {"run_id": "raises", "seed": 4, "steps": 5, "sleep": 0.0},
    ]
    (results / "runs" / "raises").mkdir(parents=True)
    (results / "runs" / "raises" / "fail_once").write_text("")

    # 1. --no-wait: submit all four as one array and return at once
    ex = slurm.SlurmExecutor(_config(), wait=False, job_module="slurm_cluster", progress=False)
    st = ex.run_statuses(specs, results)
    assert {s.state for s in st} == {"submitted"}
    record = slurm.load_jobs(results)
    ids = {rid: e["job_ids"] for rid, e in record["runs"].items()}
    assert sorted(ids) == sorted(s["run_id"] for s in specs) and all(len(v) == 1 for v in ids.values())
    assert len({v[0].split("_")[0] for v in ids.values()}) == 1, "one array job for the whole submission"

    # 2. cancel one run and SIGKILL another once each has checkpointed a few steps
    _wait_for(
        lambda: _step(results, "cancelled") >= 3 and _step(results, "killed") >= 3, 60, "both long runs to checkpoint"
    )
    slurm_cluster.run("scancel", ids["cancelled"][0])
    slurm_cluster.kill_job_process(ids["killed"][0])

    # 3. --collect until nothing is active: failures named with state and log tail, checkpoints kept
    col = slurm.SlurmExecutor(_config(), collect=True, job_module="slurm_cluster", progress=False)

    def settled():
        s = {x.run_id: x for x in col.run_statuses(specs, results)}
        settled.last = s
        return all(x.state in ("finished", "skipped", "failed") for x in s.values())

    _wait_for(settled, 90, "all four jobs to end")
    s = settled.last
    assert s["ok"].state in ("finished", "skipped")
    assert s["cancelled"].state == "failed" and "CANCELLED" in s["cancelled"].error
    assert s["killed"].state == "failed" and s["killed"].job_id == ids["killed"][0]
    assert s["raises"].state == "failed" and "ValueError: toy failure in run raises" in s["raises"].error
    assert "| " in s["raises"].error, "the log tail is part of the report"
    err = capsys.readouterr().err
    for rid in ("cancelled", "killed", "raises"):
        assert f"run {rid} failed" in err
    kept = {rid: _step(results, rid) for rid in ("cancelled", "killed")}
    assert all(0 < k < 60 for k in kept.values()), kept
    assert not (results / "runs" / "cancelled" / "metrics.json").exists()

    # 4. the same command again (waiting): resubmits exactly the three unfinished runs; they resume
    ex2 = slurm.SlurmExecutor(_config(), job_module="slurm_cluster", progress=False)
    final = {x.run_id: x for x in ex2.run_statuses(specs, results)}
    assert {k: x.state for k, x in final.items()} == {
        "ok": "skipped",
        "cancelled": "finished",
        "killed": "finished",
        "raises": "finished",
    }
    record = slurm.load_jobs(results)
    assert {rid: len(e["job_ids"]) for rid, e in record["runs"].items()} == {
        "ok": 1,
        "cancelled": 2,
        "killed": 2,
        "raises": 2,
    }
    for spec in specs:
        m = json.loads((results / "runs" / spec["run_id"] / "metrics.json").read_text())
        assert m["value"] == toy_value(spec["seed"], spec["steps"]), spec["run_id"]
    for rid in ("cancelled", "killed"):
        m = json.loads((results / "runs" / rid / "metrics.json").read_text())
        assert m["resumed_from"] >= kept[rid], (rid, m, kept)

    # 5. and once more: nothing to submit, everything reported finished
    again = slurm.SlurmExecutor(_config(), job_module="slurm_cluster", progress=False).run_statuses(specs, results)
    assert all(x.state == "skipped" for x in again)
    assert {rid: len(e["job_ids"]) for rid, e in slurm.load_jobs(results)["runs"].items()}["ok"] == 1


# ---------------------------------------------------------------------------------------------
# the locatello2019 study grid and its dry-run estimate (benchmark/sweep/study.py)


def test_locatello2019_grid_matches_the_reference_sweep():
    from benchmark.sweep.plan import RunSpec
    from benchmark.sweep.study import study_runs

    runs = study_runs("locatello2019")
    assert len(runs) == 7 * 36 * 50 == 12_600
    assert len({r["run_id"] for r in runs}) == 12_600

    # reference numbering: model_num = dataset_idx * 1800 + config_idx * 50 + seed
    def at(k):
        return runs[k]["dataset"], runs[k]["model"], runs[k]["params"], runs[k]["seed"]

    assert at(0) == ("dsprites", "vae", {"beta": 1.0}, 0)  # BetaVAE beta=1 is our vae
    assert at(1 * 50 + 7) == ("dsprites", "beta_vae", {"beta": 2.0}, 7)
    assert at(11 * 50) == ("dsprites", "factor_vae", {"gamma": 100.0}, 0)
    assert at(12 * 50) == ("dsprites", "dip_vae_i", {"lambda_od": 1.0}, 0)
    assert at(18 * 50 + 49) == ("dsprites", "dip_vae_ii", {"lambda_od": 1.0}, 49)
    assert at(29 * 50) == ("dsprites", "beta_tcvae", {"beta": 10.0}, 0)
    assert at(35 * 50) == ("dsprites", "annealed_vae", {"c_max": 100.0}, 0)
    assert at(4 * 1800 + 3) == ("smallnorb", "vae", {"beta": 1.0}, 3)
    assert at(12_599) == ("shapes3d", "annealed_vae", {"c_max": 100.0}, 49)
    assert {r["preset"] for r in runs} == {"paper"} and {r["data_source"] for r in runs} == {"official"}
    assert {r["train"]["steps"] for r in runs if r["model"] != "factor_vae"} == {300_000}
    # the reference's FactorVAE advances its global step twice per update: 300k steps = 150k updates
    assert {r["train"]["steps"] for r in runs if r["model"] == "factor_vae"} == {150_000}
    assert {r["train"]["batch_size"] for r in runs} == {64}
    # nine metric configs as the reference: the paper suite plus both downstream tasks
    assert {"downstream_gbt", "downstream_logreg", "beta_vae", "dci", "mig"} <= set(runs[0]["eval"]["metrics"])
    assert runs[0]["eval"]["representations"] == ["mean", "sampled"]
    spec = RunSpec.from_dict(runs[123])  # round-trips through the planner's spec
    assert spec.run_id == runs[123]["run_id"]


def test_study_subsets_and_bad_names():
    from benchmark.sweep.study import study_runs

    sub = study_runs("locatello2019", datasets=["cars3d"], seeds=[0, 1])
    assert len(sub) == 36 * 2 and {r["dataset"] for r in sub} == {"cars3d"}
    with pytest.raises(BenchmarkError, match="unknown study"):
        study_runs("locatello2020")
    with pytest.raises(BenchmarkError, match="not in study"):
        study_runs("locatello2019", datasets=["mnist"])
    with pytest.raises(BenchmarkError, match="seeds 0..49"):
        study_runs("locatello2019", seeds=[50])


def test_dry_run_report_counts_and_hours():
    from benchmark.sweep.study import Throughput, dry_run_report, study_runs

    runs = study_runs("locatello2019", datasets=["dsprites"], seeds=[0])  # 30 runs x 300k steps + 6 x 150k
    tp = Throughput(device="test device", steps_per_s=100.0, eval_s=360.0, source="unit test", gpu=True)
    text = dry_run_report(runs, tp, finished=6)
    assert "runs planned: 36 (6 already finished, 30 to run)" in text
    # 9.9M steps x 30/36 = 8.25M steps / 100 steps/s = 22.9 h, + 30 x 360 s = 3 h, + a second
    # scoring pass for the sampled representation 3 h
    assert "training steps to run: 8,250,000" in text
    assert "estimated GPU hours: 29 (0.96 per run; 1.2 days): training 23 h + scoring 6.0 h" in text
    assert "throughput source: unit test" in text
    cpu = Throughput(device="2-core CPU", steps_per_s=10.0, eval_s=0.0, source="s", gpu=False)
    assert "device hours (2-core CPU)" in dry_run_report(runs, cpu) and "not GPU hours" in dry_run_report(runs, cpu)


# ---------------------------------------------------------------------------------------------
# the real cluster with the real job: a tiny sweep through benchmark.sweep.job.run_one


def _tiny_specs():
    from benchmark.sweep.plan import plan
    from benchmark.sweep.presets import get_preset

    # long enough (in steps) that a job can be caught after its first checkpoint and before the end
    preset = get_preset("tiny").with_steps(int(os.environ.get("SLURM_TEST_STEPS", "250")))
    return plan(
        preset,
        models=["vae", "beta_vae"],
        grids={"--betas": [1.0, 4.0, 8.0]},
        seeds=[0],
        dataset="dsprites_mini",
        data_source="procedural",
        baselines=[],
        device="cpu",
    )


def _checkpointed(results: Path, rid: str) -> bool:
    folder = results / "runs" / rid
    return any(folder.rglob("checkpoint*.pt")) and not (folder / "metrics.json").exists()


def _table_without_meta(results: Path):
    from benchmark.report.results import META_COLUMNS, write_results

    df = write_results(results)
    return df.drop(columns=[c for c in META_COLUMNS if c in df.columns]).sort_values("run_id").reset_index(drop=True)


@pytest.mark.slurm
def test_tiny_sweep_on_slurm_equals_local_after_cancel_and_kill(slurm_cluster, tmp_path, capsys):
    import pandas as pd

    from benchmark.sweep.executors import LocalExecutor, Outcome

    specs = _tiny_specs()
    assert len(specs) == 3
    local, remote = tmp_path / "local", tmp_path / "slurm"

    # submit first (the cluster trains while the local executor does the same runs here)
    ex = slurm.SlurmExecutor(_config(), wait=False, progress=False)
    outs = ex.run(specs, remote)
    assert all(isinstance(o, Outcome) and o.status == "submitted" for o in outs)
    job_of = {o.run_id: o.job_id for o in outs}
    cancel_id, kill_id, ok_id = (s.run_id for s in specs)

    _wait_for(
        lambda: _checkpointed(remote, cancel_id) and _checkpointed(remote, kill_id),
        120,
        "two runs to write a checkpoint",
    )
    slurm_cluster.run("scancel", job_of[cancel_id])
    slurm_cluster.kill_job_process(job_of[kill_id])

    col = slurm.SlurmExecutor(_config(), collect=True, progress=False)
    _wait_for(
        lambda: all(o.status in ("finished", "skipped", "failed") for o in col.run(specs, remote)),
        120,
        "the three jobs to end",
    )
    got = {o.run_id: o for o in col.run(specs, remote)}
    assert got[cancel_id].status == "failed" and "CANCELLED" in got[cancel_id].error
    assert got[kill_id].status == "failed" and got[kill_id].job_id == job_of[kill_id]
    assert got[ok_id].status in ("finished", "skipped")
    assert f"run {kill_id} failed" in capsys.readouterr().err
    for rid in (cancel_id, kill_id):  # partial checkpoints kept, no results
        assert any((remote / "runs" / rid).rglob("checkpoint*.pt"))
        assert not (remote / "runs" / rid / "metrics.json").exists()

    # the same command again: only the two unfinished runs are resubmitted; they resume
    final = slurm.SlurmExecutor(_config(), progress=False).run(specs, remote)
    assert {o.run_id: o.status for o in final} == {cancel_id: "finished", kill_id: "finished", ok_id: "skipped"}
    assert {r: len(e["job_ids"]) for r, e in slurm.load_jobs(remote)["runs"].items()} == {
        cancel_id: 2,
        kill_id: 2,
        ok_id: 1,
    }

    for rid in (cancel_id, kill_id):  # resumed from the partial checkpoint, not restarted
        train = json.loads((remote / "runs" / rid / "train" / "train_result.json").read_text())
        assert train["resumed_from"] and train["resumed_from"] > 0, (rid, train["resumed_from"])

    # the same runs on the local executor (1 torch thread each, as in the jobs): the same table
    local_out = LocalExecutor(jobs=2, threads=1, verbose=False).run(specs, local)
    assert all(o.status == "finished" for o in local_out), local_out
    pd.testing.assert_frame_equal(_table_without_meta(remote), _table_without_meta(local))


def test_dry_run_default_throughput_is_a_recorded_measurement():
    from benchmark.sweep.study import THROUGHPUTS, default_throughput, dry_run_report, study_runs

    tp = default_throughput()
    assert tp is THROUGHPUTS[0] and tp.source and tp.steps_per_s > 0
    text = dry_run_report(study_runs("locatello2019", datasets=["dsprites"], seeds=[0]))
    extra = tp.extra_eval_s["downstream_gbt"] + tp.extra_eval_s["downstream_logreg"]  # the study's 2 downstream tasks
    # every run is scored on the mean and the sampled representation: twice
    train_s = 30 * 300_000 / tp.steps_per_s + 6 * 150_000 / tp.model_steps_per_s.get("factor_vae", tp.steps_per_s)
    hours = train_s / 3600 + 36 * 2 * (tp.eval_s + extra) / 3600
    assert f"{hours:,.0f}" in text and tp.source in text


@pytest.mark.parametrize(
    "key,value",
    [
        ("partition", "debug\nrm -rf ~"),
        ("account", "lab; touch /tmp/x"),
        ("qos", "normal $(id)"),
        ("constraint", "gpu\n#SBATCH --exclusive"),
    ],
)
def test_sbatch_values_with_shell_or_newlines_are_one_clear_error(tmp_path, key, value):
    """Were written into the sbatch script as is: a newline became a shell line of its own."""
    with pytest.raises(BenchmarkError, match=f"slurm {key} .* holds characters sbatch does not take there") as e:
        slurm_config.make_config({key: value})
    assert "\n" not in str(e.value)
    f = tmp_path / "slurm.json"
    f.write_text(json.dumps({key: value}))
    with pytest.raises(BenchmarkError, match="holds characters sbatch does not take"):
        slurm.make_executor(_parse(["--slurm-config", str(f)]))
    # what sbatch does take: names, comma lists, constraint expressions
    ok = slurm_config.make_config(
        {"partition": "gpu,debug", "account": "proj-42_a", "qos": "high.prio", "constraint": "[rack1|rack2]*2&intel"}
    )
    assert ok.constraint == "[rack1|rack2]*2&intel"


def test_partition_flag_with_a_newline_is_one_line_from_run_all(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    p = subprocess.run(
        [
            sys.executable,
            str(root / "run_all.py"),
            "--preset",
            "tiny",
            "--dataset",
            "dsprites_mini",
            "--results-dir",
            str(tmp_path),
            "--executor",
            "slurm",
            "--partition",
            "debug\necho pwned",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("error: slurm partition 'debug\\necho pwned' holds characters")
