"""``train_log.csv``: the append-only CSV of loss terms each run writes while it trains."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

from benchmark.io import atomic_write_text


class CsvLog:
    """Append-only CSV of loss terms; on resume, rows past the checkpoint (and a torn last line) are dropped."""

    def __init__(self, path: Path, keep_through: int):
        self.path = Path(path)
        self.header: Optional[list[str]] = None
        if self.path.exists():
            text = self.path.read_text()
            lines = text.splitlines(keepends=True)
            if lines and not lines[-1].endswith("\n"):
                lines = lines[:-1]  # torn by a kill mid-write
            rows = list(csv.reader(lines))
            if rows:
                self.header = rows[0]
                kept = [
                    r
                    for r in rows[1:]
                    if len(r) == len(self.header) and _int(r[0]) is not None and _int(r[0]) <= keep_through
                ]
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerows([self.header, *kept])
                if buf.getvalue() != text:
                    atomic_write_text(self.path, buf.getvalue())

    def last_row(self) -> dict:
        if not self.path.exists():
            return {}
        rows = list(csv.DictReader(io.StringIO(self.path.read_text())))
        return {k: float(v) for k, v in rows[-1].items()} if rows else {}

    def write(self, row: dict) -> None:
        if self.header is None:
            self.header = list(row)
            with open(self.path, "w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerow(self.header)
        with open(self.path, "a", newline="") as f:
            csv.writer(f, lineterminator="\n").writerow([_fmt(row.get(k, "")) for k in self.header])


def _int(s):
    try:
        return int(s)
    except ValueError:
        return None


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else v
