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


def test_a_writer_killed_mid_write_leaves_a_temporary_the_next_write_removes(tmp_path):
    """A real kill -9 during a write: the target is untouched, the named temporary is ours and the
    next write of that target removes it (a live writer's temporary is never touched)."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"old")
    code = (
        "import sys, time\nfrom benchmark.io import _atomic\n"
        "def hang(f):\n    f.write(b'half'); f.flush(); print('writing', flush=True); time.sleep(600)\n"
        "_atomic(sys.argv[1], hang)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    live = [n for n in tmp_path.iterdir() if n.name.startswith(".checkpoint.pt~")]
    atomic_write_text(tmp_path / "other.txt", "x")  # another target: its writer's temporary is not ours to clean
    assert target.read_bytes() == b"old" and all(n.exists() for n in live) and len(live) == 1
    assert f"~{p.pid}~" in live[0].name and live[0].name.endswith(".tmp")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert live[0].exists()  # a killed writer leaves its temporary...
    atomic_write_text(target, "new")  # ...which the next write of the same target removes
    assert target.read_text() == "new"
    assert sorted(n.name for n in tmp_path.iterdir()) == ["checkpoint.pt", "other.txt"]


def test_plain_names_refuse_paths():
    from benchmark.io import check_plain_name

    assert check_plain_name("beta_vae-beta4-s0-0123456789", "run id", "x") == "beta_vae-beta4-s0-0123456789"
    assert check_plain_name("annealed_vae-c_max25-gamma1000-s1-ab", "run id", "x")
    for bad in ("../evil", "/etc/passwd", "..", ".", "a/b", ".hidden", "", "a\nb", "x" * 201):
        with pytest.raises(BenchmarkError, match="is not a plain name"):
            check_plain_name(bad, "run id", "results.csv line 2")
