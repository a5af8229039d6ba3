"""dSprites data-layer numbers: procedural generation, cached load, random float batches.

    python benchmarks/bench_data.py [--data-dir DIR]

Targets: full procedural grid < 60 s and < 6 GB peak; cached load < 5 s; random batches
of 64 as float tensors >= 50,000 images/s on CPU. Generation and loading run in fresh
subprocesses so that peak memory and load time are those of a new process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine, print_table, write_json  # noqa: E402

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from benchmark.data import dsprites
t1 = time.perf_counter()
mode, root = sys.argv[1], sys.argv[2]
if mode == "generate":
    from benchmark.data import dsprites_render
    imgs = dsprites_render.render_grid()
    t2 = time.perf_counter()
    from benchmark.data import cache
    cache.write(__import__("pathlib").Path(root) / "dsprites" / dsprites.CACHE_NAME, imgs,
                {"generator": dsprites_render.GENERATOR, "version": dsprites_render.VERSION})
    t3 = time.perf_counter()
    out = {"render_s": t2 - t1, "write_cache_s": t3 - t2}
else:
    images, prov = dsprites.load_images(__import__("pathlib").Path(root), "procedural")
    t2 = time.perf_counter()
    out = {"load_s": t2 - t1, "source": prov.source}
out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps(out))
"""


def child(mode: str, root: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, mode, root],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def batch_rate(root: str, batches: int = 2000, batch: int = 64) -> float:
    import numpy as np

    from benchmark.data import dsprites

    ds = dsprites.load_dsprites(Path(root), "procedural")
    rng = np.random.default_rng(0)
    for _ in range(50):  # warm-up
        ds.observe(ds.grid.sample_index(batch, rng))
    t = time.perf_counter()
    for _ in range(batches):
        x = ds.observe(ds.grid.sample_index(batch, rng))
    dt = time.perf_counter() - t
    assert x.shape == (batch, 1, 64, 64)
    return batches * batch / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data-dir", default=None, help="where to write the generated grid (default: a temp dir, deleted after)"
    )
    args = ap.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir or tmp
        gen = child("generate", root)
        load = child("load", root)
        rate = batch_rate(root)
    rows = [
        {
            "measure": "render full grid (737,280 images)",
            "value": gen["render_s"],
            "unit": "s",
            "target": "< 60 incl. cache write",
        },
        {"measure": "write cache (.npy + JSON sidecar)", "value": gen["write_cache_s"], "unit": "s", "target": ""},
        {"measure": "generation peak memory", "value": gen["peak_rss_gb"], "unit": "GB", "target": "< 6"},
        {"measure": "load cached grid (new process)", "value": load["load_s"], "unit": "s", "target": "< 5"},
        {"measure": "random batches of 64 -> float", "value": rate, "unit": "images/s", "target": ">= 50,000"},
    ]
    print_table(rows, ["measure", "value", "unit", "target"])
    write_json("bench_data", {"machine": info, "generate": gen, "load": load, "batch_images_per_s": rate})


if __name__ == "__main__":
    main()
