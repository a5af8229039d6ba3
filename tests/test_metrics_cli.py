import json

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.data.dsprites import MINI_GRID
from benchmark.metrics.baselines import ground_truth_codes


def test_evaluate_codes_file_writes_json(tmp_path, capsys):
    codes = tmp_path / "codes.npy"
    np.save(codes, ground_truth_codes(MINI_GRID))
    out = tmp_path / "r.json"
    rc = main(
        [
            "evaluate",
            "--codes",
            str(codes),
            "--dataset",
            "dsprites_mini",
            "--preset",
            "tiny",
            "--metrics",
            "beta_vae",
            "mig",
            "--param",
            "mig.num_train=300",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["scores"]["beta_vae.eval_accuracy"] == 1.0
    assert r["metrics"]["mig"]["params"]["num_train"] == 300 and r["source"]["codes_file"] == str(codes)
    assert "beta_vae.eval_accuracy" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["evaluate", "--codes", str(tmp_path / "missing.npy"), "--dataset", "dsprites_mini"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: codes file") and "\n" not in err
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 2)))
    assert main(["evaluate", "--codes", str(bad), "--dataset", "dsprites_mini", "--preset", "tiny"]) == 2
    assert "rows but the dataset has 23040" in capsys.readouterr().err
    assert main(["evaluate", "--codes", str(bad)]) == 2
    assert "need --dataset" in capsys.readouterr().err
    assert main(["evaluate", "--codes", str(bad), "--dataset", "dsprites_mini", "--param", "oops"]) == 2
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_evaluate_a_real_checkpoint_with_generative_scores(tmp_path):
    import torch

    from benchmark.models import build_model, make_config, save_checkpoint

    torch.manual_seed(0)
    cfg = make_config("vae")
    ckpt = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint(ckpt, build_model(cfg), {**cfg.to_dict(), "dataset": "dsprites_mini", "seed": 0})
    out = tmp_path / "r.json"
    rc = main(
        [
            "evaluate",
            "--checkpoint",
            str(ckpt),
            "--preset",
            "tiny",
            "--metrics",
            "mig",
            "generative",
            "--threads",
            "1",
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["dataset"]["dataset"] == "dsprites_mini" and r["source"]["checkpoint_sha256"]
    assert r["representation"]["selection"] == "subset" and r["representation"]["dim"] == 10
    assert r["scores"]["generative.kl"] >= 0 and r["scores"]["generative.iwae_k"] == 4
    assert list((tmp_path / "run" / "codes_cache").glob("codes-*.npz"))  # cached next to the checkpoint


def test_bad_seeds_params_codes_and_json_paths_are_one_line_before_scoring(tmp_path, capsys):
    import pytest

    codes = tmp_path / "codes.npy"
    np.save(codes, ground_truth_codes(MINI_GRID))
    base = [
        "evaluate",
        "--codes",
        str(codes),
        "--dataset",
        "dsprites_mini",
        "--preset",
        "tiny",
        "--metrics",
        "mig",
        "--quiet",
    ]
    for flag in ("--seed", "--noise-seed"):  # numpy's RandomState range; -1 was a traceback inside numpy
        with pytest.raises(SystemExit) as e:
            main(base + [flag, "-1"])
        assert e.value.code == 2 and "2**32 - 1" in capsys.readouterr().err
    # a parameter of the wrong type was a TypeError inside the metric
    assert main(base + ["--param", "mig.num_train=abc"]) == 2
    assert capsys.readouterr().err.strip() == "error: mig: num_train must be an integer (default 10000), got 'abc'"
    # an output path that cannot be written is refused before scoring (it failed after the whole evaluation)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(base + ["--json", str(blocker / "r.json")]) == 2
    captured = capsys.readouterr()
    assert "is a file, not a folder" in captured.err and "discrete_mig" not in captured.out
    assert main(base + ["--json", str(tmp_path)]) == 2
    assert "it is a folder" in capsys.readouterr().err
    # codes that are not numbers (strings) were a ValueError from the float conversion
    words = tmp_path / "words.npy"
    np.save(words, np.full((MINI_GRID.num_images, 2), "a"))
    assert main(base[:2] + [str(words)] + base[3:]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(f"error: {words} is (23040, 2) <U1, expected (N, D) floating-point or integer or bool")
        and err.count("\n") == 1
    )


def test_help_states_each_default_once():
    """``--batch-size``'s help already says its default: argparse's '(default: None)' must not follow it,
    and empty defaults say nothing."""
    import io
    from contextlib import redirect_stdout

    from benchmark.cli import build_parser

    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--help"])
    text = " ".join(buf.getvalue().split())
    assert "(default 64 on CPU, 1024 on GPU)" in text
    assert "(default: None)" not in text and "(default: [])" not in text
    assert "(default: reference)" in text  # a real default is still shown
