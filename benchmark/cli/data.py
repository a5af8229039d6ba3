"""``data list|prepare|download|show``: the ground-truth datasets under the data root."""

from __future__ import annotations

from pathlib import Path

from benchmark.cli import common
from benchmark.data.paths import data_root
from benchmark.errors import BenchmarkError


def add_parsers(sub) -> None:
    p = sub.add_parser("data", help="list, prepare and look at the ground-truth datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    dsub.required = True

    q = dsub.add_parser("list", help="every dataset, its factors and sizes, and whether the official file is present")
    common.add_data_dir(q)
    q.set_defaults(func=cmd_list)

    q = dsub.add_parser("prepare", help="validate the official file, or render and cache the procedural grid")
    q.add_argument("name", help="dataset name (see 'data list')")
    common.add_data_dir(q)
    common.add_data_source(q, "--source")
    q.set_defaults(func=cmd_prepare)

    q = dsub.add_parser(
        "download", help="download, verify and unpack official files, then validate them as 'prepare' does"
    )
    q.add_argument("names", nargs="*", metavar="NAME", help="dataset names (see 'data list')")
    q.add_argument("--all", action="store_true", help="every dataset with a public file (asks first unless --yes)")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.add_argument("--url", default=None, help="try this URL (a mirror) first; its file name picks the resource")
    common.add_data_dir(q)
    q.set_defaults(func=cmd_download)

    q = dsub.add_parser("show", help="write a contact sheet PNG: one row per factor, varying only that factor")
    q.add_argument("name", help="dataset name (see 'data list')")
    common.add_data_dir(q)
    common.add_results_dir(q)
    q.add_argument("--out", default=None, metavar="PNG", help="PNG path (default: RESULTS_DIR/datasets/<name>.png)")
    common.add_seed(q, "seed of the base image and nuisance draws")
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
        if r.get("missing_needs"):  # e.g. scream_dsprites renders its sprites but needs the painting
            proc += f", but needs {', '.join(r['missing_needs'])} (absent) for either source"
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
    if args.data_source != "auto":
        if "source" not in inspect.signature(get_spec(args.name).load).parameters:
            raise BenchmarkError(f"dataset {args.name} has only one source; run without --data-source")
        kw["source"] = args.data_source
    if "cache" in inspect.signature(get_spec(args.name).load).parameters:
        kw["cache"] = True  # procedural stand-ins: render the whole grid once and keep it in the data root
    _print_summary(_load(args, **kw))
    return 0


def _print_summary(ds) -> None:
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


def cmd_download(args) -> int:
    import sys

    from benchmark.data import downloads as dl

    if args.all == bool(args.names):
        raise BenchmarkError("name the datasets to download, or pass --all (not both)")
    names = sorted(dl.DOWNLOADS) if args.all else list(dict.fromkeys(args.names))
    if args.url and len(names) != 1:
        raise BenchmarkError("--url applies to one dataset; name exactly one")
    res = {n: dl.resources_for(n, data_root(args.data_dir)) for n in names}
    plan = [(n, dl.with_url(r, args.url) if args.url else r) for n, r in res.items()]
    if args.all:
        seen = {r.file: r for _, res in plan for r in res}
        known, unknown = dl.total_size(list(seen.values()))
        print(
            f"{len(seen)} files, {known / 1e9:.2f} GB published"
            + (f" plus {unknown} of unknown size" if unknown else "")
            + f", into {data_root(args.data_dir)}; faces3d is not public and is skipped"
        )
        if not args.yes:
            if not sys.stdin.isatty():
                raise BenchmarkError(
                    "data download --all asks before starting: pass --yes to confirm without a terminal"
                )
            if input("download them? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing downloaded")
                return 1
    root = data_root(args.data_dir)
    for name, res in plan:
        dl.download(res, root, progress=sys.stderr.isatty())
        prepare_downloaded(name, args.data_dir)
    return 0


def prepare_downloaded(name: str, data_dir=None, **load_kwargs) -> None:
    """Validate a freshly downloaded dataset as ``data prepare NAME`` does and print its summary."""
    import inspect

    from benchmark.data.dsprites import load_scream
    from benchmark.data.registry import get_spec, load_dataset

    if name == "scream_dsprites":  # the painting alone; its dSprites files are validated as dsprites
        _, path = load_scream(data_root(data_dir))
        print(f"painting: {path} (readable, large enough for 64x64 crops)")
        name = "dsprites"
    if "source" in inspect.signature(get_spec(name).load).parameters:
        load_kwargs.setdefault("source", "official")  # never fall back to a stand-in after a download
    _print_summary(load_dataset(name, data_dir=data_dir, **load_kwargs))


def cmd_show(args) -> int:
    import numpy as np

    from benchmark.data.contact_sheet import write_contact_sheet

    ds = _load(args)
    out = Path(args.out) if args.out else Path(args.results_dir) / "datasets" / f"{ds.name}.png"
    write_contact_sheet(ds, out, rng=np.random.default_rng(args.seed))
    print(f"wrote {out}")
    return 0
