"""Incremental, exactly-once ingestion of log files into the store.

A file is known by its FINGERPRINT: a hash of its first bytes (up to 4 KiB
of decompressed content), not by its inode or name. Rotation renames a file
and may gzip it later (delaycompress) without changing its content, so its
checkpoint follows it; a truncated or replaced file no longer matches and is
read from the start. Offsets count decompressed bytes and always end a
complete line: a line still being written is left for the next run.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..lock import ProjectLock
from . import parse
from .aggregate import Batch, GeoIP, Networks
from .store import Store

HEAD = 4096  # bytes of content that identify a file
CHUNK = 1 << 20
MAX_LINE = 1 << 16  # a longer "line" is garbage: skipped and counted as malformed
BATCH_LINES = 100_000  # lines per transaction; bounds memory


def fingerprint(head: bytes) -> str:
    return hashlib.sha256(len(head).to_bytes(4, "big") + head).hexdigest()


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _gzip_isize(path: Path) -> int:
    """Uncompressed size mod 2**32, from the gzip trailer (last member's only)."""
    with open(path, "rb") as handle:
        handle.seek(-4, os.SEEK_END)
        return int.from_bytes(handle.read(4), "little")


@dataclass
class FileResult:
    path: str
    state: str = "new"  # new, resumed, restarted, done, empty, missing, unknown format
    format: str = ""
    lines: int = 0
    malformed: int = 0
    skipped: int = 0


@dataclass
class Ingester:
    store: Store
    fmt: str = "auto"
    projects: frozenset = frozenset()
    networks: Networks | None = None
    geoip: GeoIP | None = None
    batch_lines: int = BATCH_LINES
    families: parse.Families = field(default_factory=parse.Families)

    def file(self, path: str | os.PathLike) -> FileResult:
        path = Path(path)
        result = FileResult(str(path))
        if not path.is_file():
            result.state = "missing"  # e.g. access.log.1 before the first rotation
            return result
        compressed = _is_gzip(path)
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as handle:
            head = handle.read(HEAD)
            if b"\n" not in head and len(head) < HEAD:
                result.state = "empty"  # nothing complete yet
                return result
            checkpoint = self.store.find_checkpoint(head, fingerprint)
            offset = checkpoint["offset"] if checkpoint else 0
            if checkpoint:
                result.state = "resumed"
                if compressed and _gzip_isize(path) in {n % 2**32 for n in (offset, checkpoint["size_seen"])}:
                    result.state = "done"
                    return result
                if not compressed and os.fstat(handle.fileno()).st_size < offset:
                    result.state, offset = "restarted", 0  # truncated (copytruncate), same first bytes
            fmt = parse.get(self.fmt, head)
            if fmt is None:
                result.state = "unknown format"
                return result
            result.format = fmt.name
            handle.seek(offset)
            self._read(handle, fmt, head, offset, checkpoint and checkpoint["fingerprint"], result)
        return result

    def _read(self, handle, fmt, head: bytes, pos: int, old: str | None, result: FileResult) -> None:
        """Lines from ``pos`` on, committed every ``batch_lines`` with the offset after them."""
        batch = Batch(fmt, self.projects, self.families, self.networks, self.geoip)
        pending = b""
        dropped = 0  # bytes of an overlong line already thrown away
        read_end = pos

        def feed(lines: list[bytes]) -> None:
            nonlocal pos, old
            while lines:
                room = self.batch_lines - batch.lines
                part, lines = (lines[:room], lines[room:]) if len(lines) > room else (lines, [])
                batch.feed(part)
                pos += sum(map(len, part)) + len(part)
                if batch.lines >= self.batch_lines:
                    old = self._commit(batch, old, head, pos, read_end, result)

        while chunk := handle.read(CHUNK):
            read_end += len(chunk)
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                if len(pending) > MAX_LINE:
                    dropped += len(pending)
                    pending = b""
                continue
            lines = data[:cut].split(b"\n")
            pending = data[cut + 1:]
            if dropped:  # the first line is the end of an overlong one
                pos += dropped + len(lines[0]) - 1  # feed() counts the stand-in below
                lines[0] = b"\0"  # parses as malformed: counted once, when it ends
                dropped = 0
            feed(lines)
        if batch.lines:
            self._commit(batch, old, head, pos, read_end, result)

    def _commit(self, batch: Batch, old: str | None, head: bytes, pos: int, read_end: int,
                result: FileResult) -> str:
        """Store the batch with the checkpoint ``pos``; the file's new fingerprint."""
        n = min(HEAD, pos)
        new = fingerprint(head[:n])
        self.store.commit(batch, old, (new, n, result.path, pos, read_end))
        result.lines += batch.lines
        result.malformed += batch.malformed
        result.skipped += batch.skipped
        batch.reset()
        return new


def ingest(store: Store, paths, fmt: str = "auto", projects=(), networks: Networks | None = None,
           geoip: GeoIP | None = None, batch_lines: int = BATCH_LINES) -> list[FileResult]:
    """Ingest log files, given oldest first (access.log.2.gz access.log.1 access.log).

    One ingester per store at a time (a lock beside it); a second one raises
    ``speculum.lock.Busy``.
    """
    ingester = Ingester(store, fmt, frozenset(projects), networks, geoip, batch_lines)
    with ProjectLock(store.path.parent, store.path.name):
        return [ingester.file(path) for path in paths]
