"""Edits of the project database file that keep it as the admin wrote it.

Round-trip YAML (ruamel.yaml): comments, key order, quoting and flow/block
style survive. Every edit is validated before anything is written, the file
is replaced atomically, and an edit that changes nothing leaves the file
byte-identical (it is not rewritten at all). Controller only.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import schema
from .fsutil import atomic_write
from .ids import resolve

KEY = "speculum_projects"


class InvalidEdit(ValueError):
    """The edit would make the database invalid; nothing was written."""

    def __init__(self, errors: list[schema.ValidationError]):
        self.errors = errors
        super().__init__(schema.format_errors(errors))


def yaml() -> YAML:
    loader = YAML()
    loader.preserve_quotes = True
    loader.width = 120
    loader.indent(mapping=2, sequence=4, offset=2)
    loader.explicit_start = True
    return loader


def plain(value: Any) -> Any:
    """ruamel's round-trip types as plain Python (what the schema validates)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value).__name__ == "ScalarBoolean" or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


class Database:
    """The project database file, loaded for editing."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.text = self.path.read_text(encoding="utf-8")
        self.doc = yaml().load(self.text)
        if not isinstance(self.doc, dict) or not isinstance(self.doc.get(KEY), dict):
            raise ValueError(f"{self.path} does not define the mapping {KEY}")
        self._original = plain(self.doc)

    @property
    def projects(self) -> CommentedMap:
        return self.doc[KEY]

    def resolve(self, wanted: str) -> str:
        return resolve(self.projects, wanted)

    def record(self, pid: str) -> dict:
        return plain(self.projects[pid])

    # --- edits -------------------------------------------------------------------

    def set(self, pid: str, dotted: str, value: Any) -> None:
        """Set a field such as ``enabled`` or ``sync.syncs_per_day``."""
        node = self.projects[pid]
        *parents, last = dotted.split(".")
        for key in parents:
            if key not in node or node[key] is None:
                node[key] = CommentedMap()
            node = node[key]
        node[last] = value

    def add_comment(self, pid: str, text: str, when: datetime | None = None) -> str:
        """Append a timestamped entry to the project's comment log (like `mb commentadd`)."""
        entry = f"{(when or datetime.now()).strftime('%Y-%m-%d %H:%M')}: {text}"
        record = self.projects[pid]
        if not isinstance(record.get("comments"), list):
            record["comments"] = CommentedSeq()
        record["comments"].append(entry)
        return entry

    def add(self, pid: str, record: dict) -> None:
        if pid in self.projects:
            raise ValueError(f"project '{pid}' already exists")
        self.projects[pid] = _commented(record)

    def replace(self, pid: str, record: Any) -> None:
        self.projects[pid] = record

    def rename(self, old: str, new: str) -> None:
        if new in self.projects:
            raise ValueError(f"project '{new}' already exists")
        position = list(self.projects).index(old)
        value = self.projects.pop(old)
        self.projects.insert(position, new, value)

    def delete(self, pid: str) -> None:
        del self.projects[pid]

    # --- saving ------------------------------------------------------------------------

    def errors(self, secrets: dict | None = None) -> list[schema.ValidationError]:
        return schema.validate(plain(self.projects), secrets)

    def dump(self) -> str:
        out = io.StringIO()
        yaml().dump(self.doc, out)
        return out.getvalue()

    def changed(self) -> bool:
        return plain(self.doc) != self._original

    def save(self, secrets: dict | None = None) -> bool:
        """Validate, then write atomically; False (file untouched) if nothing changed."""
        errors = self.errors(secrets)
        if errors:
            raise InvalidEdit(errors)
        if not self.changed():
            return False
        atomic_write(self.path, self.dump(), mode=self.path.stat().st_mode & 0o777)
        self.text = self.path.read_text(encoding="utf-8")
        self._original = plain(self.doc)
        return True


def _commented(value: Any) -> Any:
    """Plain data as round-trip nodes, block style (how the database is written)."""
    if isinstance(value, dict):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _commented(item)
        return node
    if isinstance(value, list):
        node = CommentedSeq(_commented(v) for v in value)
        if all(isinstance(v, str) for v in value) and value and all(v.startswith("-") for v in value):
            node.fa.set_flow_style()  # argv stages read best as [--a, --b]
        return node
    return value


def dump_record(pid: str, record: Any) -> str:
    """One project as the YAML text `edit` puts in the editor."""
    out = io.StringIO()
    loader = yaml()
    loader.explicit_start = False
    loader.dump({pid: record}, out)
    return out.getvalue()


def load_record(text: str) -> tuple[str, Any]:
    """(id, record) from the editor's text; ValueError when it is not one project."""
    lines = [line for line in text.splitlines() if not line.startswith("# ERROR")]
    data = yaml().load("\n".join(lines))
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("the file must hold exactly one project: its id, then its fields")
    (pid, record), = data.items()
    return str(pid), record
