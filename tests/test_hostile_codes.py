"""Codes files given to ``evaluate --codes`` and the codes cache: bad files give one line or a re-encode.

Files are written in the real .npy/.npz formats, some with crafted headers (object dtype, sizes the
file does not hold); the CLI must answer with one ``error:`` line and exit status 2, and a damaged
codes cache must be encoded again, not crash the evaluation.
"""

import io
import zipfile

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.data.dsprites import MINI_GRID
from benchmark.errors import BenchmarkError
from benchmark.metrics.baselines import ground_truth_codes
from benchmark.metrics.encode import cache_path, encode_dataset
from benchmark.metrics.utils import as_codes, read_codes_file
from metrics_helpers import LinearEncoder, dataset

N = MINI_GRID.num_images  # 23,040 images of dsprites_mini


def npy_bytes(descr, shape, payload: bytes = b"") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def saved(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def crafted(tmp_path, case: str):
    """The file of one hostile case."""
    good = saved(np.zeros((N, 3), np.float32))
    if case.endswith(".npz"):
        path = tmp_path / case
        members = {
            "zero-dim.npz": {"mean": saved(np.zeros((N, 0), np.float32))},
            "object.npz": {"mean": npy_bytes("|O", (N, 3), b"\x41" * 64)},
            "huge.npz": {"codes": npy_bytes("<f4", (2**40, 3))},
            "other-keys.npz": {"z": good},
        }[case]
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(f"{name}.npy", data)
        return path
    path = tmp_path / f"{case}.npy"
    path.write_bytes(
        {
            "empty": b"",
            "zero-dim": saved(np.zeros((N, 0), np.float32)),
            "truncated": good[:1000],
            "object": npy_bytes("|O", (N, 3), b"\x41" * 64),
            "strings": saved(np.full((N, 3), "a")),
            "1-d": saved(np.zeros(N, np.float32)),
            "rows": saved(np.zeros((5, 3), np.float32)),
            "not-npy": b"PK\x03\x04 not an npy",
        }[case]
    )
    return path


CASES = [
    ("empty", r"\.npy is empty \(0 bytes\); expected a \.npy array — save a \(23040, D\) float array"),
    ("zero-dim", r"codes have shape \(23040, 0\): zero code dimensions"),
    ("truncated", r"declares \(23040, 3\) float32 \(276,480 bytes\) but the file holds 872; it is truncated"),
    ("object", r"holds Python objects \(dtype object\)"),
    ("strings", r"is \(23040, 3\) <U1, expected \(N, D\) floating-point or integer or bool"),
    ("1-d", r"is \(23040,\) float32, expected \(N, D\)"),
    ("rows", r"codes have 5 rows but the dataset has 23040 images"),
    ("not-npy", r"cannot read it as a \.npy array \(ValueError"),
    ("zero-dim.npz", r"zero-dim.npz: codes have shape \(23040, 0\): zero code dimensions"),
    ("object.npz", r"array 'mean' holds Python objects"),
    ("huge.npz", r"codes have 1099511627776 rows but the dataset has 23040 images"),
    ("other-keys.npz", r"no 'mean' or 'codes' array inside; found \['z'\]"),
]


@pytest.mark.parametrize("case, match", CASES, ids=[case for case, _ in CASES])
def test_evaluate_codes_bad_files_give_one_error_line(tmp_path, capsys, case, match):
    path = crafted(tmp_path, case)
    rc = main(["evaluate", "--codes", str(path), "--dataset", "dsprites_mini", "--preset", "tiny", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith(f"error: {path}") and "\n" not in err and "Traceback" not in err
    with pytest.raises(BenchmarkError, match=match):
        read_codes_file(path, N)


def test_read_codes_file_maps_npy_and_reads_npz(tmp_path):
    codes = ground_truth_codes(MINI_GRID).astype(np.float32)
    np.save(tmp_path / "c.npy", codes)
    np.savez_compressed(tmp_path / "c.npz", codes=codes)
    a, b = read_codes_file(tmp_path / "c.npy", N), read_codes_file(tmp_path / "c.npz", N)
    assert isinstance(a, np.memmap) and np.array_equal(a, codes) and np.array_equal(b, codes)


def test_zero_dimensional_codes_are_refused_by_the_python_api():
    with pytest.raises(BenchmarkError, match=r"codes have shape \(10, 0\): zero code dimensions"):
        as_codes(np.zeros((10, 0)), 10)


# ------------------------------------------------------------------------------------------------
# the codes cache: a damaged file is encoded again (with a notice), then rewritten intact
# ------------------------------------------------------------------------------------------------
def damage(path, how: str) -> None:
    blob = path.read_bytes()
    if how == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        members.update(
            {
                "object-mean": {"mean.npy": npy_bytes("|O", (120, 4), b"\x41" * 64)},
                "lying-mean": {"mean.npy": npy_bytes("<f4", (2**40, 4))},
                "zero-dim": {"mean.npy": saved(np.zeros((120, 0), np.float32))},
                "nan": {"mean.npy": saved(np.full((120, 4), np.nan, np.float32))},
                "bad-info": {"info.npy": saved(np.array("not json"))},
                "huge-info": {"info.npy": npy_bytes("<U100000000", ())},
                "bad-indices": {"indices.npy": saved(np.array([3, 1, 2]))},
            }[how]
        )
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)


@pytest.mark.parametrize(
    "how",
    ["truncated", "empty", "object-mean", "lying-mean", "zero-dim", "nan", "bad-info", "huge-info", "bad-indices"],
)
def test_a_damaged_codes_cache_is_encoded_again(tmp_path, capsys, how):
    ds, enc = dataset(), LinearEncoder(16 * 16)
    first = encode_dataset(enc, ds, device="cpu", cache_dir=tmp_path, key="k", progress=False)
    path = cache_path(tmp_path, "k", ds, None)
    damage(path, how)
    calls = enc.calls
    again = encode_dataset(enc, ds, device="cpu", cache_dir=tmp_path, key="k", progress=False)
    err = capsys.readouterr().err
    assert enc.calls > calls and not again.info["cache_hit"] and np.array_equal(again.mean, first.mean)
    assert "notice: unreadable codes cache (" in err and "encoding again" in err
    third = encode_dataset(enc, ds, device="cpu", cache_dir=tmp_path, key="k", progress=False)
    assert third.info["cache_hit"] and np.array_equal(third.mean, first.mean)  # rewritten intact
