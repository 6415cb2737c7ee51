"""What every mirrorctl command shares: where the database is, output, errors."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import config

DB_RELATIVE = Path("group_vars/all/projects.yml")

# Exit codes (documented in `mirrorctl --help`).
OK, ERROR, USAGE, FAILING, REFUSED = 0, 1, 2, 3, 4


class CliError(Exception):
    """A message for the admin and the exit code that goes with it."""

    def __init__(self, message: str, code: int = ERROR):
        super().__init__(message)
        self.code = code


@dataclass
class Source:
    """The database a command works on: the repository's file, or the host's deployed copy."""

    mode: str  # "repo" or "host"
    path: Path
    site: dict | None = None  # host mode: the runtime site settings

    @property
    def on_host(self) -> bool:
        return self.mode == "host"

    def projects(self) -> dict[str, dict]:
        """Normalised records (validated)."""
        if self.on_host:
            return config.load(self.path)["projects"]
        return config.settle(load_yaml(self.path)["speculum_projects"])[1]

    def database(self):
        """The file for editing; refused on the host, where edits go through the repo."""
        if self.on_host:
            raise CliError("this is the mirror host, which runs a deployed copy of the project "
                           "database: edit group_vars/all/projects.yml in the repository "
                           "(mirrorctl there) and deploy with ansible-playbook site.yml", REFUSED)
        from .. import dbedit

        return dbedit.Database(self.path)


def source(args) -> Source:
    if getattr(args, "db", None):
        return Source("repo", Path(args.db))
    explicit = getattr(args, "config", None) or os.environ.get("SPECULUM_CONFIG")
    if explicit:
        return Source("host", Path(explicit), config.load(explicit)["site"])
    found = find_db()
    if found:
        return Source("repo", found)
    host_config = Path(config.DEFAULT_CONFIG_PATH)
    if host_config.is_file():
        return Source("host", host_config, config.load(host_config)["site"])
    raise CliError(f"no {DB_RELATIVE} here or above, and no {host_config}: run mirrorctl in the "
                   "repository (or pass --db FILE), or on a deployed mirror host")


def find_db() -> Path | None:
    for directory in (Path.cwd(), *Path.cwd().parents):
        if (directory / DB_RELATIVE).is_file():
            return directory / DB_RELATIVE
    return None


def load_yaml(path: Path) -> dict:
    import yaml  # controller only

    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or "speculum_projects" not in data:
        raise CliError(f"{path} does not define speculum_projects")
    return data


def site_vars(db_path: Path) -> dict:
    """The plain (not vault-encrypted) variables beside the database, `{{ var }}` resolved."""
    import yaml

    merged: dict = {}
    for file in sorted(db_path.parent.glob("*.yml")):
        text = file.read_text(encoding="utf-8")
        if text.startswith("$ANSIBLE_VAULT"):
            continue
        data = yaml.safe_load(text)
        if isinstance(data, dict):
            merged.update(data)

    def render(value, depth=0):
        if isinstance(value, str) and "{{" in value and depth < 5:
            return render(re.sub(r"\{\{\s*(\w+)\s*\}\}",
                                 lambda m: str(merged.get(m[1], m[0])), value), depth + 1)
        return value

    return {key: render(value) for key, value in merged.items()}


def site_url(args, src: Source) -> str:
    """Base URL of our own mirror site (ends with /)."""
    url = getattr(args, "site_url", None) or os.environ.get("SPECULUM_SITE_URL")
    if not url:
        url = "http://localhost/" if src.on_host else site_vars(src.path).get("speculum_site_http_url")
    if not url:
        raise CliError("cannot tell our site's URL: pass --site-url URL")
    return url if url.endswith("/") else url + "/"


# --- output --------------------------------------------------------------------

COLOURS = {"success": "32", "failed": "31", "syncing": "33", "pre-syncing": "33", "none": "2",
           "ok": "32", "missing": "31", "error": "31", "fail": "31", "warn": "33", "unknown": "2"}


def colour(text: str, key: str | None = None, stream=None) -> str:
    """ANSI colour only on a terminal, and never with NO_COLOR set."""
    stream = stream or sys.stdout
    code = COLOURS.get(key or text)
    if not code or os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{code}m{text}\033[0m"


def table(rows: list[tuple], colour_column: int | None = None) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text = str(cell).ljust(widths[i])
            if n and i == colour_column:
                text = colour(str(cell)) + " " * (widths[i] - len(str(cell)))
            cells.append(text)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def print_json(value) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


class Progress:
    """'[3/10] scanning debian' on stderr, only when stderr is a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r[{done}/{total}] {self.label}" + end)
            sys.stderr.flush()
