"""TrainConfig validation: values no run can use are refused in one line before anything is built."""

import pytest

from benchmark.errors import BenchmarkError
from benchmark.train.config import BATCH_MAX, LATENT_MAX, TrainConfig


@pytest.mark.parametrize(
    "field, value, match",
    [
        (
            "batch_size",
            10**20,
            r"batch_size must be between 2 and 65,536, got 100000000000000000000; pass a --batch-size",
        ),
        ("batch_size", 1, r"batch_size must be between 2 and 65,536, got 1"),
        ("latent_dim", 99_999_999_999, r"latent_dim must be between 1 and 4,096, got 99999999999; pass a --latent-dim"),
        ("latent_dim", 0, r"latent_dim must be between 1 and 4,096, got 0"),
        ("latent_dim", -3, r"latent_dim must be between 1 and 4,096, got -3"),
    ],
)
def test_sizes_out_of_bounds_are_one_line(field, value, match):
    with pytest.raises(BenchmarkError, match=match) as e:
        TrainConfig(**{field: value})
    assert "\n" not in str(e.value)


def test_the_bounds_themselves_are_accepted():
    for kw in ({"batch_size": 2}, {"batch_size": BATCH_MAX}, {"latent_dim": 1}, {"latent_dim": LATENT_MAX}):
        assert TrainConfig(**kw).to_dict().items() >= kw.items()


def test_train_cli_refuses_a_huge_batch_before_loading_data(tmp_path, capsys):
    from benchmark.cli import main

    rc = main(
        [
            "train",
            "--model",
            "vae",
            "--dataset",
            "dsprites_mini",
            "--steps",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--batch-size",
            "100000000000000000000",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: batch_size must be between 2 and 65,536") and "\n" not in err
