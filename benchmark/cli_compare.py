"""``compare``: score a user's model with the runner, rank and submit it with the report layer."""
from __future__ import annotations

from benchmark.errors import BenchmarkError


def compare(args) -> int:
    """Score, rank and (with ``--submit``) append; prints a table. Returns 0."""
    from benchmark.device import resolve_device
    from benchmark.report.compare import check_name, format_table, peers_of, rank_scores, submit
    from benchmark.report.leaderboard import read_leaderboard
    from benchmark.sweep.compare import load_codes, load_user_encoder, num_images, score_entry
    from benchmark.sweep.plan import resolve_data_source
    from benchmark.sweep.presets import get_preset

    if bool(args.checkpoint) == bool(args.codes):
        raise BenchmarkError("give exactly one of --checkpoint PATH or --codes FILE.npy")
    if args.model and not args.checkpoint:
        raise BenchmarkError("--model needs --checkpoint (the weights to load into it)")
    if args.codes and not args.dataset:
        raise BenchmarkError("--codes needs --dataset NAME (the dataset the codes were computed on)")
    if args.submit and not args.name:
        raise BenchmarkError("--submit needs --name NAME (how the entry appears on the leaderboard)")
    if args.name is not None:
        check_name(args.name)
    preset = get_preset(args.preset)
    board = read_leaderboard(args.leaderboard)  # malformed rows -> one clear error, before any work
    encoder, trained_on = (None, None)
    if args.checkpoint:
        encoder, trained_on = load_user_encoder(args.checkpoint, args.model)
    dataset = args.dataset or trained_on or preset.dataset
    if args.codes:  # shape check against the registered grid, before loading any data
        load_codes(args.codes, num_images(dataset), dataset)
    if trained_on and trained_on != dataset:
        raise BenchmarkError(f"checkpoint was trained on {trained_on} but --dataset is {dataset}; "
                             "scores are only comparable on the training dataset: drop --dataset or pass the right one")
    peers_of(board, args.leaderboard, dataset, None, preset.name, checks_only_dataset=True)
    source = resolve_data_source(dataset, args.data_dir, args.data_source)
    peers = peers_of(board, args.leaderboard, dataset, source, preset.name)
    device = resolve_device(args.device)
    scores = score_entry(encoder, args.codes, dataset, source, preset, args.data_dir, device, args.seed)
    rows, table, flags = rank_scores(board, peers, scores, dataset, source, preset.name)
    print(f"\n{args.name or 'your model'} on {dataset} ({source}), preset {preset.name}, seed {args.seed}:")
    print(format_table([("metric", "score", "rank", "best on leaderboard")] + table))
    if flags:
        print("flags (not scores): " + ", ".join(flags))
    if not rows:
        raise BenchmarkError(f"none of the scores ({', '.join(scores)}) has leaderboard rows to rank against for "
                             f"{dataset}/{source}/{preset.name}")
    if args.submit:
        from benchmark.io import sha256_file

        what = "checkpoint" if args.checkpoint else "codes"
        submit(board, rows, args, device, inputs=f"{what}_sha256={sha256_file(args.checkpoint or args.codes)}")
    return 0
