"""``data download``: a local HTTP server (with Range) stands in for the dataset hosts; no internet."""

import gzip
import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data import downloads as dl
from benchmark.cli.data import prepare_downloaded
from benchmark.data.downloads import DownloadError, Resource
from benchmark.data.registry import load_dataset
from benchmark.errors import DatasetError
from test_cars3d import NAMES as CAR_NAMES
from test_cars3d import write_cars
from test_dsprites import write_painting


class Server:
    """Serves ``files`` (path -> bytes) with Range; a path in ``drop`` is cut off halfway once."""

    def __init__(self):
        self.files, self.drop, self.ranges = {}, set(), []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                rng = self.headers.get("Range")
                owner.ranges.append((self.path, rng))
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if self.path in owner.drop:
                    owner.drop.discard(self.path)
                    self.wfile.write(body[start : start + (len(body) - start) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def md5(b):
    return "md5:" + hashlib.md5(b).hexdigest()


def tar_bytes(add, mode="w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        add(t)
    return buf.getvalue()


def cars_tarball(tmp_path):
    src = write_cars(tmp_path / "src")
    return tar_bytes(lambda t: t.add(src / "cars", arcname="data/cars"))


def test_download_verify_unpack_and_prepare_end_to_end(server, tmp_path, capsys):
    body = cars_tarball(tmp_path)
    server.files["/nips2015-analogy-data.tar.gz"] = body
    res = (
        dl.replace(dl.DOWNLOADS["cars3d"][0], urls=(server.url + "/nips2015-analogy-data.tar.gz",), checksum=md5(body)),
    )
    root = tmp_path / "data"
    out = dl.download(res, root, progress=False)
    assert out == [root / "cars"] and len(list((root / "cars").glob("*.mat"))) == len(CAR_NAMES)
    assert not (root / res[0].file).exists()  # archive removed once unpacked
    prepare_downloaded("cars3d", root, num_objects=len(CAR_NAMES), progress=False)
    text = capsys.readouterr().out
    assert "source: official" in text and "sha256" in text
    assert '"verified": true' in (root / "downloads.json").read_text()
    dl.download(res, root, progress=False)  # second call: nothing fetched
    assert "already present" in capsys.readouterr().out and len(server.ranges) == 1


def test_unpublished_checksum_is_printed_and_recorded(server, tmp_path, capsys):
    jpg = tmp_path / "p"
    write_painting(jpg)
    body = (jpg / "scream" / "scream.jpg").read_bytes()
    server.files["/The_Scream.jpg"] = body
    dl.download(dl.with_url((dl.SCREAM,), server.url + "/The_Scream.jpg"), tmp_path / "d", progress=False)
    sha = hashlib.sha256(body).hexdigest()
    assert sha in capsys.readouterr().out and sha in (tmp_path / "d" / "downloads.json").read_text()
    from benchmark.data.dsprites import load_scream

    assert load_scream(tmp_path / "d")[0].shape[0] == 3


def test_resume_after_dropped_connection(server, tmp_path):
    body = bytes(range(256)) * 4000
    server.files["/f.bin"] = body
    server.drop.add("/f.bin")
    r = Resource("x/f.bin", (server.url + "/f.bin",), size=len(body), checksum=md5(body))
    dl.download((r,), tmp_path, progress=False)
    assert (tmp_path / "x/f.bin").read_bytes() == body
    assert server.ranges[0] == ("/f.bin", None) and server.ranges[1] == ("/f.bin", f"bytes={len(body) // 2}-")


def test_mirror_fallback_after_404_and_all_mirrors_failing(server, tmp_path):
    server.files["/mirror/f.bin"] = b"payload"
    r = Resource("f.bin", (server.url + "/gone/f.bin", server.url + "/mirror/f.bin"), checksum=md5(b"payload"))
    dl.download((r,), tmp_path, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == b"payload"
    r2 = Resource("g.bin", (server.url + "/a/g.bin", server.url + "/b/g.bin"))
    with pytest.raises(DownloadError, match=r"every URL of g.bin failed: .*HTTP 404.*HTTP 404") as e:
        dl.download((r2,), tmp_path, progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "g.bin").exists()


def test_checksum_mismatch_removes_the_file(server, tmp_path):
    server.files["/f.bin"] = b"not the file"
    want = "md5:" + "0" * 32
    r = Resource("f.bin", (server.url + "/f.bin",), checksum=want)
    with pytest.raises(DownloadError, match=f"expected {want}, but {server.url}/f.bin gave {md5(b'not the file')}"):
        dl.download((r,), tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_mirror_holding_another_file_is_passed_over(server, tmp_path):
    # MPI3D's 2024 location held a corrupt mpi3d_real: the checksum rejects it and the next location is tried
    server.files["/old/f.bin"] = b"corrupt copy"
    server.files["/new/f.bin"] = b"the file"
    r = Resource("f.bin", (server.url + "/old/f.bin", server.url + "/new/f.bin"), checksum=md5(b"the file"))
    dl.download((r,), tmp_path, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == b"the file"


def test_no_network_names_the_url_and_the_manual_path(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = Resource("f.bin", (f"http://127.0.0.1:{port}/f.bin",))
    with pytest.raises(
        DownloadError, match=f"cannot reach http://127.0.0.1:{port}/f.bin .*by hand .* to {tmp_path}/f.bin"
    ):
        dl.download((r,), tmp_path, progress=False)


def _escape(t):
    info = tarfile.TarInfo("data/cars/../../evil.txt")
    info.size = 4
    t.addfile(info, io.BytesIO(b"evil"))


def _symlink(t):
    info = tarfile.TarInfo("data/cars/link")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    t.addfile(info)


@pytest.mark.parametrize("add, match", [(_escape, "would be written outside"), (_symlink, "points outside")])
def test_archive_members_escaping_the_folder_are_refused(server, tmp_path, add, match):
    body = tar_bytes(add)
    server.files["/a.tar.gz"] = body
    r = Resource(
        "a.tar.gz", (server.url + "/a.tar.gz",), checksum=md5(body), unpack="tar", member="data/cars", output="cars"
    )
    with pytest.raises(DownloadError, match=match):
        dl.download((r,), tmp_path / "root", progress=False)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "root" / "cars").exists()


def test_truncated_archive_is_one_error(server, tmp_path):
    body = gzip.compress(b"x" * 100000)[:-50]
    server.files["/m.mat.gz"] = body
    r = Resource("m.mat.gz", (server.url + "/m.mat.gz",), unpack="gunzip", output="m.mat")
    with pytest.raises(DownloadError, match="truncated or corrupt gzip"):
        dl.download((r,), tmp_path, progress=False)
    assert not (tmp_path / "m.mat").exists()


def test_cli_messages(tmp_path, capsys):
    assert main(["data", "download", "faces3d", "--data-dir", str(tmp_path)]) == 2
    assert f"put it at {tmp_path}/faces3d/basel_face_renders.pth" in capsys.readouterr().err
    assert main(["data", "download", "--all", "--data-dir", str(tmp_path)]) == 2  # stdin is not a terminal here
    cap = capsys.readouterr()
    assert "GB published" in cap.out and "pass --yes" in cap.err
    assert main(["data", "download", "dsprites", "--url", "http://127.0.0.1:1/other.npz"]) == 2
    assert "none of" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_loading_a_missing_official_file_names_the_download_command(tmp_path):
    with pytest.raises(DatasetError, match="python -m benchmark data download shapes3d"):
        load_dataset("shapes3d", data_dir=tmp_path, source="official")


def test_every_public_dataset_declares_urls_and_a_place():
    for name, res in dl.DOWNLOADS.items():
        for r in res:
            assert r.urls and all(u.startswith(("http://", "https://")) for u in r.urls)
            assert not Path(r.result).is_absolute() and ".." not in Path(r.result).parts
            assert r.checksum is None or r.checksum.split(":")[0] in ("md5", "sha256")


def test_planning_without_the_official_file_names_the_download_command(tmp_path):
    from benchmark.errors import BenchmarkError
    from benchmark.sweep.plan import resolve_data_source

    with pytest.raises(
        BenchmarkError,
        match=r"no official file for shapes3d under .*; run: python -m benchmark "
        r"data download shapes3d, or pass --data-source procedural$",
    ):
        resolve_data_source("shapes3d", str(tmp_path), "official")
