"""Main job: does ``--jobs N`` (N single-thread processes) beat one process using all cores?

    flock /tmp/heavy.lock python benchmarks/bench_run_all.py [--steps 300] [--jobs 1 2]

Runs the same small sweep (AE, VAE, beta-VAE 4 and 16 on dSprites, quick preset's metrics, ``--steps``
training steps each, no baselines, no figures) once per ``--jobs`` value, each into a fresh results
folder in a fresh process, and prints wall time per configuration. The runs are identical (same ids,
same seeds), so the table also checks that parallel execution gives the same scores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine, print_table, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="training steps per model (default 300)")
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to compare (default 1 2)")
    p.add_argument("--dataset", default="dsprites", help="dataset (default dsprites)")
    args = p.parse_args()
    info = machine()
    rows = []
    tables = {}
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix=f"bench-jobs{jobs}-") as tmp:
            cmd = [
                sys.executable,
                str(ROOT / "run_all.py"),
                "--results-dir",
                tmp,
                "--dataset",
                args.dataset,
                "--betas",
                "1",
                "4",
                "16",
                "--steps",
                str(args.steps),
                "--baselines",
                "none",
                "--no-figures",
                "--jobs",
                str(jobs),
            ]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                print(r.stderr[-3000:], file=sys.stderr)
                return 1
            import pandas as pd

            df = pd.read_csv(Path(tmp) / "results.csv")
            tables[jobs] = df.set_index("run_id")[["beta_vae_reference", "recon_bce"]]
            rows.append(
                {
                    "jobs": jobs,
                    "threads_per_run": 1 if jobs > 1 else "idle cores",
                    "runs": len(df),
                    "wall_s": round(wall, 1),
                    "train_s_sum": round(float(df["train_seconds"].sum()), 1),
                    "eval_s_sum": round(float(df["eval_seconds"].sum()), 1),
                }
            )
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup"] = round(base / r["wall_s"], 2)
    same = all(tables[j].round(6).equals(tables[args.jobs[0]].round(6)) for j in args.jobs)
    print_table(rows, ["jobs", "threads_per_run", "runs", "wall_s", "speedup", "train_s_sum", "eval_s_sum"])
    print(f"identical scores across --jobs values: {same}")
    write_json(
        "run_all_jobs",
        {
            "machine": info,
            "steps": args.steps,
            "dataset": args.dataset,
            "rows": rows,
            "identical_scores": same,
            "command": "python benchmarks/bench_run_all.py " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
