"""benchmark.progress: readable periodic lines where stderr is a file, nothing when disabled."""

import io

from benchmark.progress import ProgressLines, progress


def test_a_log_file_gets_lines_with_count_rate_and_eta():
    log = io.StringIO()  # not a terminal, as under nohup or Slurm
    with progress(1000, "render dSprites", "img", stream=log, every_s=0.0) as bar:
        assert isinstance(bar, ProgressLines)
        bar.update(250)
        bar.update(750)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0].startswith("render dSprites: 250/1,000 img (25.0 %), ")
    assert lines[-1].startswith("render dSprites: 1,000/1,000 img (100.0 %), ")
    assert " img/s, ETA 00:00:00" in lines[-1]


def test_lines_are_spaced_by_the_interval_and_the_last_comes_at_close():
    log = io.StringIO()
    bar = progress(10, "encode", "img", stream=log, every_s=3600.0)
    for _ in range(10):
        bar.update(1)
    assert log.getvalue() == ""  # the interval has not passed
    bar.close()
    assert log.getvalue().count("\n") == 1 and "10/10 img (100.0 %)" in log.getvalue()


def test_a_resumed_count_starts_at_initial_and_postfix_is_appended():
    log = io.StringIO()
    bar = progress(100, "train", "step", initial=40, stream=log, every_s=0.0)
    bar.set_postfix({"loss": "1.5"})
    bar.update(10)
    assert log.getvalue().startswith("train: 50/100 step (50.0 %), ") and log.getvalue().rstrip().endswith(", loss 1.5")


def test_disabled_reports_nothing():
    log = io.StringIO()
    with progress(10, "quiet", "img", enabled=False, stream=log) as bar:
        bar.update(10)
    assert log.getvalue() == ""


def test_bytes_read_as_mib_and_an_unknown_total_gives_no_eta():
    log = io.StringIO()
    with progress(4 * 2**20, "3dshapes.h5", "B", stream=log, every_s=0.0) as bar:
        bar.update(2**20)
    assert log.getvalue().startswith("3dshapes.h5: 1.0/4.0 MiB (25.0 %), ")
    log = io.StringIO()
    with progress(None, "rendered_chairs.tar", "B", stream=log, every_s=0.0) as bar:
        bar.update(3 * 2**20)
    first = log.getvalue().splitlines()[0]
    assert first.startswith("rendered_chairs.tar: 3.0 MiB, ") and "ETA" not in first
