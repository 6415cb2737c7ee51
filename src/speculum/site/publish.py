"""Write the generated site into the web root without a reader ever seeing a
half-written page, and without touching what did not change.

Every file is replaced by an atomic rename; files whose bytes are unchanged are
left alone (their mtime too, so caches and rsync see no change). The files
written last time are listed in a manifest (a dotfile, never served), so a
removed project's pages are deleted, while anything else in the web root (an
admin's own files) is never touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from ..fsutil import atomic_write

MANIFEST = ".speculum-site.json"


def publish(webroot: str | os.PathLike, files: dict[str, bytes]) -> dict[str, list[str]]:
    """Bring ``webroot`` to ``files``; returns {"written": [...], "removed": [...]}."""
    root = Path(webroot)
    for rel in files:
        _check_relative(rel)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for rel in sorted(files):
        path = root / rel
        if _same(path, files[rel]):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, files[rel], 0o644)
        written.append(rel)
    removed = []
    for rel in sorted(set(_previous(root)) - set(files)):
        try:
            _check_relative(rel)
            (root / rel).unlink()
        except (FileNotFoundError, ValueError):
            continue
        removed.append(rel)
        _prune_empty_parents(root, root / rel)
    manifest = json.dumps(sorted(files), indent=0).encode() + b"\n"
    if not _same(root / MANIFEST, manifest):
        atomic_write(root / MANIFEST, manifest, 0o644)
    return {"written": written, "removed": removed}


def _check_relative(rel: str) -> None:
    path = PurePosixPath(rel)
    if path.is_absolute() or not path.parts or any(p in ("..", ".", "") for p in path.parts) \
            or any(p.startswith(".") for p in path.parts):
        raise ValueError(f"generated file name {rel!r} must be a relative path without dot parts")


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError):
        return False


def _previous(root: Path) -> list[str]:
    try:
        names = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _prune_empty_parents(root: Path, path: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:  # not empty (or already gone)
            return
        parent = parent.parent
