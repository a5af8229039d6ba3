"""``python -m benchmark data download``: fetch, verify and unpack the official dataset files.

Every downloadable file is declared once in :data:`DOWNLOADS` (keyed by dataset name): its URLs
(primary first, then mirrors), where it goes under the data root, its size and its checksum where one
is published. Nothing here runs unless asked: loaders never download.

Transport: ``pooch.retrieve`` checks the digest and moves the file into place only when it matches;
its downloader is ours (:class:`_RangeDownloader`), because pooch restarts an interrupted download
from zero while ours resumes a ``.part`` file with an HTTP ``Range`` request. Archives are unpacked
into a temporary folder beside the target after every member has been checked (no absolute paths,
no ``..``, no links or devices leaving the folder), then renamed into place.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import os
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

from benchmark.errors import BenchmarkError
from benchmark.io import _tmp_name, atomic_write_json, clean_stale_temporaries, locked, sha256_file
from benchmark.progress import progress as progress_bar


class DownloadError(BenchmarkError):
    """A dataset file cannot be downloaded, verified or unpacked."""


@dataclass(frozen=True)
class Resource:
    """One downloadable file.

    Parameters
    ----------
    file : str
        Where the downloaded file goes, relative to the data root.
    urls : tuple of str
        The primary URL first, then mirrors; each is tried in turn.
    size : int or None
        Size in bytes when published, else None.
    checksum : str or None
        ``"md5:<hex>"`` or ``"sha256:<hex>"`` when published, else None (the computed SHA-256 is then
        printed and recorded in ``<data root>/downloads.json``).
    unpack : {None, "gunzip", "tar"}
        What to do with the verified file: keep it, gunzip it to ``output``, or extract ``member``
        from the tar archive to ``output``.
    member : str or None
        For ``"tar"``: the folder inside the archive to extract (the rest is skipped).
    output : str or None
        For ``"gunzip"`` and ``"tar"``: the file or folder produced, relative to the data root.
    """

    file: str
    urls: tuple[str, ...]
    size: int | None = None
    checksum: str | None = None
    unpack: str | None = None
    member: str | None = None
    output: str | None = None

    @property
    def result(self) -> str:
        """The path (relative to the data root) that the loader reads."""
        return self.output or self.file


_DSPRITES = "dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64"
_DSPRITES_REPO = "https://github.com/deepmind/dsprites-dataset/raw/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64"
_DSPRITES_RAW = (
    "https://raw.githubusercontent.com/deepmind/dsprites-dataset/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64"
)
# MPI3D has moved twice (github.com/rr-learning/disentanglement_dataset, README history): Hugging Face since
# April 2025, the original 2019 "Final_Dataset" bucket path, and a 2024 bucket whose real.npz the authors
# replaced as corrupt -- the checksum decides, and a mismatch moves on to the next location
_MPI3D_URLS = (
    "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/{name}.npz",
    "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/{name}.npz",
    "https://storage.googleapis.com/mpi3d_disentanglement_dataset/data/{short}.npz",
)
_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small"
# sizes and SHA-256 of the gzipped files as tensorflow-datasets lists them (url_checksums/smallnorb.txt)
_NORB_FILES = (
    (
        "smallnorb-5x46789x9x18x6x2x96x96-training-dat.mat",
        131896188,
        "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873",
    ),
    (
        "smallnorb-5x46789x9x18x6x2x96x96-training-cat.mat",
        348,
        "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa",
    ),
    (
        "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat",
        71052,
        "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32",
    ),
    (
        "smallnorb-5x01235x9x18x6x2x96x96-testing-dat.mat",
        130799817,
        "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474",
    ),
    (
        "smallnorb-5x01235x9x18x6x2x96x96-testing-cat.mat",
        347,
        "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff",
    ),
    (
        "smallnorb-5x01235x9x18x6x2x96x96-testing-info.mat",
        10428,
        "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2",
    ),
)

DSPRITES = (
    Resource(
        f"{_DSPRITES}.npz",
        (f"{_DSPRITES_REPO}.npz", f"{_DSPRITES_RAW}.npz"),
        checksum="md5:7da33b31b13a06f4b04a70402ce90c2e",
    ),
    Resource(
        f"{_DSPRITES}.hdf5",
        (f"{_DSPRITES_REPO}.hdf5", f"{_DSPRITES_RAW}.hdf5"),
        size=28_024_106,
        checksum="sha256:729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb",
    ),
)
SCREAM = Resource("scream/scream.jpg", ("https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg",))


def _mpi3d(name: str, checksum: str) -> Resource:
    short = "real" if name == "mpi3d_real" else name  # the 2024 bucket named that one real.npz
    return Resource(
        f"{name}/{name}.npz", tuple(u.format(name=name, short=short) for u in _MPI3D_URLS), checksum=checksum
    )


DOWNLOADS: dict[str, tuple[Resource, ...]] = {
    "dsprites": DSPRITES,
    "scream_dsprites": DSPRITES + (SCREAM,),
    "shapes3d": (
        Resource(
            "3dshapes/3dshapes.h5",
            ("https://storage.googleapis.com/3d-shapes/3dshapes.h5",),
            size=267_573_662,
            checksum="sha256:0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
        ),
    ),
    "mpi3d_toy": (_mpi3d("mpi3d_toy", "md5:55889cb7c7dfc655d6e0277beee88868"),),
    "mpi3d_realistic": (_mpi3d("mpi3d_realistic", "md5:59a6225b88b635365f70c91b3e52f70f"),),
    "mpi3d_real": (_mpi3d("mpi3d_real", "md5:0f33f609918fb5c97996692f91129802"),),
    "smallnorb": tuple(
        Resource(
            f"small_norb/{n}.gz",
            (f"{_NORB}/{n}.gz",),
            size=s,
            checksum=f"sha256:{h}",
            unpack="gunzip",
            output=f"small_norb/{n}",
        )
        for n, s, h in _NORB_FILES
    ),
    # the tarball holds data/cars/ (list.txt + car_*_mesh.mat), data/sprites/ and data/shapes48.mat; the
    # umich.edu address is the authors' former one
    "cars3d": (
        Resource(
            "nips2015-analogy-data.tar.gz",
            (
                "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
                "http://www-personal.umich.edu/~reedscot/files/nips2015-analogy-data.tar.gz",
            ),
            checksum="md5:4e866a7919c1beedf53964e6f7a23686",
            unpack="tar",
            member="data/cars",
            output="cars",
        ),
    ),
    # the address the project page (www.di.ens.fr/willow/research/seeing3Dchairs/) links; no checksum published
    "chairs3d": (
        Resource(
            "rendered_chairs.tar",
            ("https://www.di.ens.fr/willow/research/seeing3Dchairs/data/rendered_chairs.tar",),
            unpack="tar",
            member="rendered_chairs",
            output="rendered_chairs",
        ),
    ),
}

# variants read the same files as their base dataset
ALIASES = {
    "dsprites_full": "dsprites",
    "dsprites_noshape": "dsprites",
    "color_dsprites": "dsprites",
    "noisy_dsprites": "dsprites",
}

MANUAL = {
    "faces3d": (
        "faces3d is not public (Basel Face Model licence): request basel_face_renders.pth from the "
        "beta-TCVAE authors (github.com/rtqichen/beta-tcvae) and put it at {root}/faces3d/basel_face_renders.pth"
    ),
}


def resources_for(name: str, root: Path | None = None) -> tuple[Resource, ...]:
    """The resources of dataset ``name`` (an alias resolves to its base dataset).

    Raises
    ------
    DownloadError
        For a dataset with no public file (the message says how to obtain it) or an unknown name.
    """
    from benchmark.data.paths import data_root

    name = ALIASES.get(name, name)
    if name in MANUAL:
        raise DownloadError(MANUAL[name].format(root=root or data_root()))
    if name not in DOWNLOADS:
        raise DownloadError(f"no download for dataset {name!r}; downloadable: {', '.join(sorted(DOWNLOADS))}")
    return DOWNLOADS[name]


def with_url(res: Sequence[Resource], url: str) -> tuple[Resource, ...]:
    """``res`` with ``url`` put first for the resource whose file name the URL ends with (or the only one).

    Raises
    ------
    DownloadError
        If the URL's file name matches none of several resources.
    """
    base = PurePosixPath(url.split("?", 1)[0]).name
    hits = [i for i, r in enumerate(res) if PurePosixPath(r.file).name == base]
    if not hits and len(res) == 1:
        hits = [0]
    if not hits:
        raise DownloadError(
            f"--url {url}: its file name {base!r} is none of {', '.join(PurePosixPath(r.file).name for r in res)}; "
            "give a URL ending in one of those names"
        )
    return tuple(replace(r, urls=(url,) + r.urls) if i in hits else r for i, r in enumerate(res))


def total_size(res: Sequence[Resource]) -> tuple[int, int]:
    """(sum of the published sizes, number of resources of unknown size)."""
    return sum(r.size or 0 for r in res), sum(r.size is None for r in res)


# ------------------------------------------------------------------------------------------------
# transport


def _part_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


class _RangeDownloader:
    """A pooch downloader that streams ``url`` into ``<target>.part``, resuming it with HTTP Range.

    A dropped connection is resumed in the same call (``retries`` times); a killed process leaves the
    ``.part`` file, which the next call continues. The finished part is renamed to pooch's temporary
    file, which pooch checks and moves into place.
    """

    def __init__(
        self,
        target: Path,
        size: int | None,
        progress: bool,
        algo: str = "sha256",
        retries: int = 3,
        timeout: float = 60.0,
    ):
        self.target, self.size, self.progress, self.retries, self.timeout = target, size, progress, retries, timeout
        self.algo, self.digest = algo, None  # the digest pooch is about to compare, for our mismatch message

    def __call__(self, url: str, output_file, pooch) -> None:
        part = _part_path(self.target)
        for attempt in range(self.retries + 1):
            try:
                self._fetch(url, part)
                break
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError) as e:
                if attempt == self.retries:
                    raise DownloadError(
                        f"{url}: the connection dropped {attempt + 1} times ({type(e).__name__}); "
                        f"{part.stat().st_size if part.exists() else 0} bytes kept in {part}: "
                        "run the same command again to resume"
                    ) from None
                time.sleep(min(0.2 * 2**attempt, 5))
        self.digest = _digest(part, self.algo)
        os.replace(part, output_file)

    def _fetch(self, url: str, part: Path) -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": "disentangle-bench"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have and (self.size is None or have == self.size):
                return  # the part is already complete; its checksum decides
            raise
        with resp:
            if have and resp.status != 206:  # the server ignores Range: start over
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else self.size
            with (
                open(part, "ab" if have else "wb") as f,
                progress_bar(total, self.target.name, "B", initial=have, enabled=self.progress) as bar,
            ):
                got = have
                while True:
                    chunk = resp.read(1 << 20)
                    if not chunk:
                        break
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            if total is not None and got < total:
                raise http.client.IncompleteRead(b"", total - got)


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 22), b""):
            h.update(b)
    return h.hexdigest()


def _fetch(res: Resource, root: Path, progress: bool) -> tuple[str, str]:
    """Download ``res`` to its place (verified); returns (url used, computed sha256)."""
    import pooch

    pooch.get_logger().setLevel("WARNING")
    target = root / res.file
    target.parent.mkdir(parents=True, exist_ok=True)
    _check_space(target, res)
    failures, mismatches = [], []
    algo = (res.checksum or "sha256").partition(":")[0]
    for url in res.urls:
        dl = _RangeDownloader(target, res.size, progress, algo)
        try:
            pooch.retrieve(
                url, known_hash=res.checksum, fname=target.name, path=target.parent, downloader=dl, progressbar=False
            )
            return url, sha256_file(target)
        except urllib.error.HTTPError as e:
            failures.append(f"{url} (HTTP {e.code})")
        except urllib.error.URLError as e:
            failures.append(f"{url} ({_reason(e.reason)})")
        except ValueError:  # pooch: digest mismatch; its temporary is already removed
            _part_path(target).unlink(missing_ok=True)
            if dl.digest is None:
                raise
            mismatches.append(f"{url} gave {algo}:{dl.digest}")  # a mirror may hold another file: go on
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DownloadError(
                    f"disk full writing {target} ({e.strerror}); the partial download is kept in "
                    f"{_part_path(target)}: free space (or pass --data-dir) and run again to resume"
                ) from None
            raise
    if mismatches:
        raise DownloadError(
            f"checksum mismatch for {res.file}: expected {res.checksum}, but {'; '.join(mismatches)}"
            + (f" ({'; '.join(failures)})" if failures else "")
            + "; the bad file was removed: run again, or pass --url with another mirror"
        )
    unreachable = all("HTTP" not in f for f in failures)
    if unreachable:
        raise DownloadError(
            f"cannot reach {'; '.join(failures)}: no network? download it by hand from {res.urls[0]} to {target}"
        )
    raise DownloadError(
        f"every URL of {res.file} failed: {'; '.join(failures)}; download it by hand to {target} "
        "or pass --url with a working mirror"
    )


def _reason(reason) -> str:
    if isinstance(reason, socket.gaierror):
        return "DNS lookup failed"
    return getattr(reason, "strerror", None) or str(reason)


def _check_space(target: Path, res: Resource) -> None:
    if res.size is None:
        return
    need = res.size * (2 if res.unpack else 1)  # an archive and its contents side by side
    free = shutil.disk_usage(target.parent).free
    if free < need:
        raise DownloadError(
            f"disk full: {res.file} needs {need:,} bytes under {target.parent}, {free:,} are free; "
            "free space or pass --data-dir"
        )


# ------------------------------------------------------------------------------------------------
# unpacking


def _gunzip(src: Path, dst: Path) -> None:
    tmp = _tmp_name(dst)
    try:
        with gzip.open(src, "rb") as fi, open(tmp, "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 22)
            fo.flush()
            os.fsync(fo.fileno())
        os.replace(tmp, dst)
    except (EOFError, gzip.BadGzipFile, OSError) as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(f"disk full unpacking {src} to {dst}; free space and run again") from None
        raise DownloadError(
            f"{src}: truncated or corrupt gzip archive ({type(e).__name__}); delete it and run again"
        ) from None


def check_members(tar: tarfile.TarFile, dest: Path, archive: Path) -> list[tarfile.TarInfo]:
    """Every member of ``tar``, refusing any that would land or point outside ``dest``.

    Raises
    ------
    DownloadError
        For an absolute path, a ``..`` component, a link whose target leaves ``dest``, or a device.
    """
    dest = dest.resolve()
    members = []
    for m in tar:
        p = PurePosixPath(m.name)
        if p.is_absolute() or ".." in p.parts:
            raise DownloadError(
                f"{archive}: member {m.name!r} would be written outside {dest}; refusing the archive "
                "(not the official file?): delete it"
            )
        if m.issym() or m.islnk():
            base = dest / p.parent if m.issym() else dest
            to = PurePosixPath(m.linkname)
            if to.is_absolute() or not os.path.realpath(base / to).startswith(str(dest) + os.sep):
                raise DownloadError(
                    f"{archive}: link {m.name!r} -> {m.linkname!r} points outside {dest}; refusing the "
                    "archive (not the official file?): delete it"
                )
        elif not (m.isfile() or m.isdir()):
            raise DownloadError(f"{archive}: member {m.name!r} is a device or fifo; refusing the archive: delete it")
        members.append(m)
    return members


def _untar(src: Path, root: Path, member: str | None, output: str) -> None:
    final = root / output
    tmp = root / f".{PurePosixPath(output).name}.unpack~{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(src) as tar:
            members = check_members(tar, tmp, src)
            if member:
                prefix = member.rstrip("/") + "/"
                members = [m for m in members if m.name == member.rstrip("/") or m.name.startswith(prefix)]
                if not members:
                    tops = sorted({PurePosixPath(m.name).parts[0] for m in tar.getmembers() if m.name})
                    raise DownloadError(
                        f"{src}: no folder {member}/ in the archive (it holds {', '.join(tops[:5])}); "
                        "not the expected archive: delete it"
                    )
            kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **kw)
        made = tmp / member if member else tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(made, final)
    except (tarfile.ReadError, EOFError, zlib_error()) as e:
        raise DownloadError(
            f"{src}: truncated or corrupt archive ({type(e).__name__}: {' '.join(str(e).split())}); "
            "delete it and run again"
        ) from None
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(f"disk full unpacking {src}; free space and run again") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def zlib_error():
    import zlib

    return zlib.error


# ------------------------------------------------------------------------------------------------
# the whole job


def _record(root: Path, entry: dict) -> None:
    """Add ``entry`` to ``<root>/downloads.json`` (the download provenance), atomically and locked."""
    import json

    log = root / "downloads.json"
    with locked(log):
        try:
            rows = json.loads(log.read_text())
        except (OSError, ValueError):
            rows = {}
        rows[entry["file"]] = entry
        atomic_write_json(log, rows)


def download(
    res: Sequence[Resource], root: Path, progress: bool = True, echo: Callable[[str], None] = print
) -> list[Path]:
    """Download, verify and unpack ``res`` under ``root``; skip what is already there.

    Parameters
    ----------
    res : sequence of Resource
        What to fetch (from :func:`resources_for`, or a table of the caller's own, e.g. in tests).
    root : Path
        The data root.
    progress : bool
        Show a progress bar (bytes, bytes/s) per file.
    echo : callable
        Where the per-file lines go.

    Returns
    -------
    list of Path
        The files or folders the loaders read.

    Raises
    ------
    DownloadError
        One line for each way a download can fail (network, HTTP errors on every URL, checksum,
        disk full, truncated archive, member escaping the folder).
    """
    root = Path(root)
    out = []
    for r in res:
        result, target = root / r.result, root / r.file
        if result.exists() and (r.unpack or not r.checksum or _matches(target, r.checksum)):
            echo(f"{r.result}: already present")
            out.append(result)
            continue
        if target.exists() and r.checksum and not _matches(target, r.checksum):
            raise DownloadError(f"{target} exists but its checksum is not {r.checksum}; delete it and run again")
        clean_stale_temporaries(target)
        if not target.exists():
            url, sha = _fetch(r, root, progress)
        else:
            url, sha = "(already downloaded)", sha256_file(target)
        verified = r.checksum or "none published"
        nbytes = target.stat().st_size
        echo(f"{r.file}: {nbytes:,} bytes, sha256 {sha} (checksum: {verified})")
        if r.unpack == "gunzip":
            _gunzip(target, root / r.output)
        elif r.unpack == "tar":
            _untar(target, root, r.member, r.output)
        if r.unpack:
            target.unlink()  # the unpacked files are what the loader reads; the archive only costs space
            echo(f"unpacked to {root / r.output}")
        _record(
            root,
            {
                "file": r.file,
                "url": url,
                "sha256": sha,
                "checksum": r.checksum,
                "verified": bool(r.checksum),
                "size": nbytes,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
        out.append(result)
    return out


def _matches(path: Path, checksum: str) -> bool:
    algo, _, want = checksum.partition(":")
    return path.is_file() and _digest(path, algo) == want.lower()
