"""Slurm executor numbers on a private single-node cluster: start-up time and per-run overhead.

    python benchmarks/bench_slurm.py [--runs 16] [--repeats 5]

Starts the cluster of ``scripts/slurm/start_cluster.sh`` in a temporary folder on free ports
(cold: new database; warm: the same folder again), then measures, through
:class:`benchmark.sweep.slurm.SlurmExecutor` exactly as ``run_all.py --executor slurm`` uses it,
the wall time from submission to result of runs that do no training (this module's ``run_one``
only records timestamps and writes its metrics file), so what is measured is the executor's and
Slurm's overhead per run:

* one run at a time (``--repeats`` times): submit -> sbatch -> scheduled -> Python + imports in the
  job -> result noticed by the waiting executor; split into those parts from timestamps;
* one array of ``--runs`` runs (all CPUs of the node busy): wall time and runs per second.

Needs root and the Debian packages (see docs/slurm.md). Writes benchmarks/out/bench_slurm.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

SCRIPTS = REPO / "scripts" / "slurm"


# ------------------------------------------------------------------------------------------------
# the no-training job (job_module="bench_slurm"): same contract as benchmark.sweep.job


def run_one(spec: dict, results_dir: str) -> dict:
    from benchmark.io import atomic_write_json

    t = time.time()
    # BENCH_BATCH_T0: when the job's batch script started (set by a setup line, before srun)
    out = {
        "run_id": spec["run_id"],
        "entered": t,
        "batch_start": float(os.environ.get("BENCH_BATCH_T0", "nan")),
        "submitted": spec["submitted"],
    }
    atomic_write_json(Path(results_dir) / "runs" / spec["run_id"] / "metrics.json", out)
    return out


def is_finished(spec: dict, results_dir: str) -> bool:
    return (Path(results_dir) / "runs" / spec["run_id"] / "metrics.json").exists()


# ------------------------------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    with ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


def start(root: Path, ports: list[int]) -> float:
    env = dict(
        os.environ,
        CTLD_PORT=str(ports[0]),
        SLURMD_PORT=str(ports[1]),
        DBD_PORT=str(ports[2]),
        DB_PORT=str(ports[3]),
        NODE="localhost",
        KILL_WAIT="2",
    )
    t0 = time.perf_counter()
    subprocess.run([str(SCRIPTS / "start_cluster.sh"), str(root)], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def stop(root: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(SCRIPTS / "stop_cluster.sh"), str(root)], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=16, help="runs in the array measurement (default 16)")
    p.add_argument("--repeats", type=int, default=5, help="single-run measurements (default 5)")
    args = p.parse_args(argv)

    from common import machine, print_table, write_json

    from benchmark.sweep import slurm, slurm_config

    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="bench_slurm_"))
    root = tmp / "cluster"
    ports = free_ports(4)
    res: dict = {"machine": info, "args": vars(args)}
    res["start_cold_s"] = start(root, ports)
    res["stop_s"] = stop(root)
    res["start_warm_s"] = start(root, ports)
    os.environ["SLURM_CONF"] = str(root / "slurm.conf")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    cfg = slurm_config.make_config(
        partition="debug",
        time_limit=5,
        cpus_per_job=1,
        mem_gb=0.5,
        poll_s=1.0,
        results_timeout_s=1,
        setup=["export BENCH_BATCH_T0=$(date +%s.%N)"],
    )
    try:
        singles = []
        for i in range(args.repeats + 1):  # the first job after start-up is reported apart
            results = tmp / f"single{i}"
            t0 = time.time()
            spec = {"run_id": f"single{i}", "submitted": t0}
            ex = slurm.SlurmExecutor(cfg, job_module="bench_slurm", progress=False)
            t_submit0 = time.perf_counter()
            st = ex.run_statuses([spec], results)
            wall = time.perf_counter() - t_submit0
            assert st[0].state == "finished", st[0]
            m = st[0].result
            singles.append(
                {
                    "wall_s": wall,
                    "to_batch_start_s": m["batch_start"] - t0,
                    "srun_python_imports_s": m["entered"] - m["batch_start"],
                    "to_job_entry_s": m["entered"] - t0,
                    "result_noticed_s": t0 + wall - m["entered"],
                }
            )
        first, steady = singles[0], singles[1:]

        results = tmp / "array"
        t0 = time.time()
        specs = [{"run_id": f"r{i:03d}", "submitted": t0} for i in range(args.runs)]
        ex = slurm.SlurmExecutor(cfg, job_module="bench_slurm", progress=False)
        t_a = time.perf_counter()
        st = ex.run_statuses(specs, results)
        array_wall = time.perf_counter() - t_a
        assert all(s.state == "finished" for s in st), [s.state for s in st if s.state != "finished"]
    finally:
        res["stop_s_2"] = stop(root)

    def med(key, rows):
        vals = sorted(r[key] for r in rows if r[key] is not None)
        return vals[len(vals) // 2] if vals else None

    res["single_first"] = first
    res["single_runs"] = steady
    res["single_median"] = {k: med(k, steady) for k in steady[0]}
    res["array"] = {
        "runs": args.runs,
        "wall_s": array_wall,
        "runs_per_s": args.runs / array_wall,
        "cpus": os.cpu_count(),
    }
    rows = [
        {"measure": "cluster start, cold (new MariaDB datadir)", "value": res["start_cold_s"], "unit": "s"},
        {"measure": "cluster start, warm (datadir reused)", "value": res["start_warm_s"], "unit": "s"},
        {"measure": "cluster stop (two SIGTERM waves)", "value": res["stop_s"], "unit": "s"},
        {"measure": "one run, submit -> result (first after start)", "value": first["wall_s"], "unit": "s"},
        {
            "measure": f"one run, submit -> result (median of {len(steady)})",
            "value": res["single_median"]["wall_s"],
            "unit": "s",
        },
        {
            "measure": "  of which: submit (sbatch) -> batch script starts",
            "value": res["single_median"]["to_batch_start_s"],
            "unit": "s",
        },
        {
            "measure": "  of which: srun + Python + imports in the job",
            "value": res["single_median"]["srun_python_imports_s"],
            "unit": "s",
        },
        {
            "measure": "  of which: result written -> noticed",
            "value": res["single_median"]["result_noticed_s"],
            "unit": "s",
        },
        {"measure": f"array of {args.runs} runs on {os.cpu_count()} CPUs, wall", "value": array_wall, "unit": "s"},
        {"measure": f"array of {args.runs} runs, per run", "value": array_wall / args.runs, "unit": "s"},
    ]
    print(f"load average at start: {info['loadavg_1m']:.2f}")
    print_table(rows, ["measure", "value", "unit"])
    write_json("bench_slurm", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
