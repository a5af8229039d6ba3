import subprocess
import sys

import pytest

from benchmark.cli import main


def test_data_list_shows_factors_and_official_file(capsys, tmp_path):
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dsprites" in out and "posX 32" in out and "color 1 (nuisance)" in out
    assert "official file: absent" in out
    # scream_dsprites renders its sprites but cannot run without the painting: say so
    scream = next(line for line in out.splitlines() if "random patch of The Scream" in line)
    assert "procedural: yes, but needs scream/scream.jpg (absent) for either source" in scream
    (tmp_path / "scream").mkdir()
    (tmp_path / "scream" / "scream.jpg").write_bytes(b"present")
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    scream = next(line for line in capsys.readouterr().out.splitlines() if "random patch of The Scream" in line)
    assert "procedural: yes —" in scream and "but needs" not in scream


def test_output_into_a_closed_pipe_stops_without_a_traceback(tmp_path):
    # `python -m benchmark data list | head -1`: the reader exits after one line
    p = subprocess.Popen(
        [sys.executable, "-m", "benchmark", "data", "list", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait()
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_data_prepare_prints_source(capsys):
    assert main(["data", "prepare", "dsprites_mini"]) == 0
    out = capsys.readouterr().out
    assert "source: procedural" in out and "generator: benchmark.data.dsprites_render:mini v1" in out


def test_bad_values_give_one_error_line():
    r = subprocess.run(
        [sys.executable, "-m", "benchmark", "data", "prepare", "no_such_set"], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith("error: unknown dataset 'no_such_set'; choose one of:")
    r = subprocess.run(
        [sys.executable, "-m", "benchmark", "data", "prepare", "dsprites_mini", "--source", "official"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "only one source" in r.stderr


def test_show_refuses_a_negative_seed_and_a_folder_as_out(tmp_path, capsys):
    # both were tracebacks: numpy's seed error, and IsADirectoryError after drawing the sheet
    with pytest.raises(SystemExit) as e:
        main(["data", "show", "dsprites_mini", "--seed", "-1", "--out", str(tmp_path / "s.png")])
    assert e.value.code == 2 and capsys.readouterr().err.strip() == (
        "error: argument --seed: must be from 0 to 2**32 - 1 (numpy RandomState's range), got -1; "
        "see disentangle-bench data show --help"
    )
    assert main(["data", "show", "dsprites_mini", "--out", str(tmp_path)]) == 2
    assert "it is a folder; pass a file path" in capsys.readouterr().err
