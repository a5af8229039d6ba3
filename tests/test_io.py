"""Atomic writes: a bad output path is one clear error, and a failed write leaves the old file."""
import pytest

from benchmark.errors import BenchmarkError, OutputError
from benchmark.io import atomic_write_json, atomic_write_text, make_dir


def test_writing_under_a_file_or_onto_a_folder_is_one_clear_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(BenchmarkError, match="afile is a file, not a folder"):
        atomic_write_json(f / "scores.json", {"a": 1})  # was FileExistsError from mkdir
    with pytest.raises(BenchmarkError, match="it is a folder"):
        atomic_write_text(tmp_path, "x")  # was IsADirectoryError from os.replace
    with pytest.raises(BenchmarkError, match="cannot create result folder .*afile is a file"):
        make_dir(f / "sub", "result folder")
    assert f.read_text() == "x"


def test_output_error_is_still_an_oserror_for_optional_caches(tmp_path):
    # dataset and codes caches skip themselves on OSError; they must keep doing so
    with pytest.raises(OSError):
        atomic_write_text(tmp_path, "x")
    assert issubclass(OutputError, OSError)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from benchmark import io as bio

    target = tmp_path / "t.txt"
    target.write_text("old")

    def fail(f):
        raise OSError(28, "No space left on device")

    with pytest.raises(BenchmarkError, match="No space left on device.*old file is unchanged"):
        bio._atomic(target, fail)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
