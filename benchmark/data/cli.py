"""``python -m benchmark data list|prepare|show``."""
from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.data.paths import data_root
from benchmark.errors import BenchmarkError


def add_parsers(sub) -> None:
    p = sub.add_parser("data", help="list, prepare and look at the ground-truth datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True

    q = dsub.add_parser("list", help="every dataset, its factors and sizes, and whether the official file is present")
    q.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    q.set_defaults(func=cmd_list)

    q = dsub.add_parser("prepare", help="validate the official file, or render and cache the procedural grid")
    q.add_argument("name", help="dataset name (see 'data list')")
    q.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    q.add_argument("--source", choices=["auto", "official", "procedural"], default="auto",
                   help="auto: official file when present, else procedural (default)")
    q.set_defaults(func=cmd_prepare)

    q = dsub.add_parser("show", help="write a contact sheet PNG: one row per factor, varying only that factor")
    q.add_argument("name", help="dataset name (see 'data list')")
    q.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    q.add_argument("--out", default=None, help="PNG path (default: docs/datasets/<name>.png)")
    q.add_argument("--seed", type=int, default=0, help="seed of the base image and nuisance draws (default 0)")
    q.set_defaults(func=cmd_show)


def cmd_list(args) -> int:
    from benchmark.data.registry import describe_all

    root = data_root(args.data_dir)
    print(f"data root: {root}")
    rows = describe_all(args.data_dir)
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        official = "official file: " + (r["official_file"] if r["official_file"] != "absent" else "absent")
        proc = "procedural: yes" if r["procedural"] else "procedural: no"
        print(f"{r['name']:<{width}}  C={r['channels']}  {r['factors']}")
        print(f"{'':<{width}}  {official}; {proc} — {r['description']}")
    return 0


def _load(args, **kw):
    from benchmark.data.registry import get_spec, load_dataset

    get_spec(args.name)
    return load_dataset(args.name, data_dir=args.data_dir, **kw)


def cmd_prepare(args) -> int:
    import inspect

    from benchmark.data.registry import get_spec

    kw = {}
    if args.source != "auto":
        if "source" not in inspect.signature(get_spec(args.name).load).parameters:
            raise BenchmarkError(f"dataset {args.name} has only one source; run without --source")
        kw["source"] = args.source
    if "cache" in inspect.signature(get_spec(args.name).load).parameters:
        kw["cache"] = True  # procedural stand-ins: render the whole grid once and keep it in the data root
    ds = _load(args, **kw)
    prov = ds.provenance
    print(f"dataset: {ds.name} ({len(ds)} images, {ds.channels} channel(s))")
    print(f"source: {prov.source}")
    if prov.source == "official":
        print(f"file: {prov.file}")
        print(f"sha256: {prov.sha256}")
    else:
        print(f"generator: {prov.generator} v{prov.version}")
        print(f"file: {prov.file or '(rendered on the fly, not cached)'}")
        if prov.file:
            from benchmark.io import sha256_file

            print(f"sha256: {sha256_file(prov.file)}")
    return 0


def cmd_show(args) -> int:
    import numpy as np

    try:
        from benchmark.data.contact_sheet import write_contact_sheet
    except ModuleNotFoundError:
        raise BenchmarkError("contact sheets are not available in this build (benchmark.data.contact_sheet missing)") from None
    if args.seed < 0:  # numpy's generators take no negative seeds
        raise BenchmarkError(f"--seed must be >= 0, got {args.seed}")
    ds = _load(args)
    out = Path(args.out) if args.out else Path("docs/datasets") / f"{ds.name}.png"
    write_contact_sheet(ds, out, rng=np.random.default_rng(args.seed))
    print(f"wrote {out}")
    return 0
