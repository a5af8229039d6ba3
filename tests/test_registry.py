"""The registry: one loader signature for every dataset and one answer to "official or procedural?"."""

import inspect

import pytest

from benchmark.data import available, get_spec, load_dataset, registry, resolve_source
from benchmark.errors import DatasetError
from benchmark.sweep.plan import resolve_data_source


def one_line(e) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def put_official_file(root, name: str) -> None:
    """An (empty) file at the dataset's first official path: enough for the source to be decided."""
    path = root / get_spec(name).official_files[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


@pytest.mark.parametrize("name", ["dsprites", "color_dsprites", "scream_dsprites", "shapes3d", "faces3d"])
def test_auto_is_official_when_the_file_exists_and_procedural_when_not(tmp_path, name, capsys):
    assert resolve_source(name, tmp_path) == "procedural"
    assert capsys.readouterr().err == ""  # no notice unless asked for
    assert resolve_source(name, tmp_path, notice=True) == "procedural"
    err = capsys.readouterr().err
    assert err.startswith(f"notice: {name}: no official file under {tmp_path}; using the procedural generator")
    assert err.count("\n") == 1
    put_official_file(tmp_path, name)
    assert resolve_source(name, tmp_path, notice=True) == "official" and capsys.readouterr().err == ""
    assert resolve_source(get_spec(name), tmp_path, "procedural") == "procedural"  # a spec works as well as a name


@pytest.mark.parametrize(
    "name, fix",
    [
        ("dsprites", "run: python -m benchmark data download dsprites, or pass --data-source procedural"),
        ("noisy_dsprites", "run: python -m benchmark data download dsprites, or pass --data-source procedural"),
        ("shapes3d", "run: python -m benchmark data download shapes3d, or pass --data-source procedural"),
        ("faces3d", "see datasets/README.md for how to obtain it, or pass --data-source procedural"),
        ("chairs3d", "run: python -m benchmark data download chairs3d, or use the dataset chairs3d-procedural"),
        ("mpi3d_toy", "run: python -m benchmark data download mpi3d_toy"),
        ("smallnorb", "run: python -m benchmark data download smallnorb"),
    ],
)
def test_official_without_the_file_is_one_line_naming_the_fix(tmp_path, name, fix):
    expected = tmp_path / get_spec(name).official_files[0]
    for source in ("official",) + (() if get_spec(name).procedural else ("auto",)):
        with pytest.raises(DatasetError) as e:
            resolve_source(name, tmp_path, source)
        assert one_line(e) == f"no official file for {name} under {tmp_path} (expected {expected}); {fix}"


def test_require_files_false_answers_from_the_registry_alone(tmp_path):
    assert resolve_source("dsprites", tmp_path, "official", require_files=False) == "official"
    assert resolve_source("mpi3d_toy", tmp_path, require_files=False) == "official"  # no generator: official
    assert resolve_source("dsprites", tmp_path, require_files=False) == "procedural"  # auto still falls back


def test_sources_a_dataset_does_not_have(tmp_path):
    with pytest.raises(DatasetError) as e:
        resolve_source("mpi3d_toy", tmp_path, "procedural")
    assert one_line(e) == (
        "mpi3d_toy has no procedural generator; use its official file "
        "(run: python -m benchmark data download mpi3d_toy)"
    )
    with pytest.raises(DatasetError, match="or the dataset chairs3d-procedural"):
        resolve_source("chairs3d", tmp_path, "procedural", require_files=False)
    with pytest.raises(DatasetError, match="dsprites_mini has only one source, procedural"):
        resolve_source("dsprites_mini", tmp_path, "official", require_files=False)
    with pytest.raises(DatasetError, match="unknown data source 'both' for dsprites; use auto, official or procedural"):
        resolve_source("dsprites", tmp_path, "both")
    assert resolve_source("dsprites_full", tmp_path) == "procedural"  # disentanglement_lib's alias


def test_the_sweep_resolves_through_the_registry(tmp_path):
    for name in ("dsprites", "dsprites_mini", "faces3d-procedural"):
        assert resolve_data_source(name, str(tmp_path)) == resolve_source(name, tmp_path) == "procedural"
    put_official_file(tmp_path, "shapes3d")
    assert resolve_data_source("shapes3d", str(tmp_path)) == "official"
    with pytest.raises(DatasetError, match="download mpi3d_real"):
        resolve_data_source("mpi3d_real", str(tmp_path), "official")


def test_every_loader_takes_root_then_source_then_keyword_options():
    names = available()
    assert {
        "dsprites",
        "dsprites_noshape",
        "color_dsprites",
        "noisy_dsprites",
        "scream_dsprites",
        "dsprites_mini",
        "shapes3d",
        "shapes3d-procedural",
        "mpi3d_toy",
        "mpi3d_realistic",
        "mpi3d_real",
        "smallnorb",
        "cars3d",
        "chairs3d",
        "chairs3d-procedural",
        "faces3d",
        "faces3d-procedural",
    } <= set(names)
    for name in names:
        params = list(inspect.signature(get_spec(name).load).parameters.values())
        assert [(p.name, p.default, p.kind) for p in params[:2]] == [
            ("root", None, inspect.Parameter.POSITIONAL_OR_KEYWORD),
            ("source", "auto", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ], name
        assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in params[2:]), name


def test_loaders_refuse_a_source_they_do_not_have(tmp_path):
    assert load_dataset("dsprites_mini", tmp_path, source="procedural").provenance.source == "procedural"
    with pytest.raises(DatasetError, match="only one source"):
        load_dataset("dsprites_mini", tmp_path, source="official")
    with pytest.raises(DatasetError, match="no procedural generator"):
        load_dataset("cars3d", tmp_path, source="procedural")


def test_a_dataset_module_that_fails_to_import_fails_loudly(monkeypatch):
    monkeypatch.setattr(registry, "_MODULES", registry._MODULES + ("benchmark.data.no_such_dataset",))
    monkeypatch.setattr(registry, "_loaded", False)
    with pytest.raises(ModuleNotFoundError, match="benchmark.data.no_such_dataset"):
        registry.available()
