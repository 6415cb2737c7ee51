"""The project database schema: one declarative table drives validation,
normalisation and the reference documentation (docs/projects-schema.md).

Every error names the project and the field; ``validate`` reports all errors
at once so an admin fixes a broken database in one pass.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .durations import parse_duration
from .rsync import FORBIDDEN_STAGE_OPTIONS, parse_upstream
from .site import RESERVED_PATHS

PROJECT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
METHODS = ("rsync", "script", "static")
MARKER_FORMATS = ("unix", "debian-trace", "centos-time", "manjaro-state", "ctan-timestamp", "mtime")
USAGE_TYPES = ("apt", "pacman", "dnf", "zypper", "apk", "files")
MINUTES_PER_DAY = 1440
MAX_SYNCS_PER_DAY = 288  # every 5 minutes: more often is abuse of an upstream
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Invalid(ValueError):
    """A field value is wrong; the message says why (without the location)."""


@dataclass(frozen=True)
class Field:
    name: str
    doc: str
    check: Callable[[Any], Any] | None = None  # returns the normalised value or raises Invalid
    kind: str = "string"  # for the docs
    required: bool = False
    default: Any = None
    fields: tuple[Field, ...] = ()  # nested mapping
    example: str = ""


@dataclass(frozen=True, order=True)
class ValidationError:
    project: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"project '{self.project}'" if self.project else "project database"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


# --- value checks -----------------------------------------------------------

def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string, got {_show(value)}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, got {_show(value)}")
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise Invalid(f"must be an http:// or https:// URL, got {_show(value)}")
    return value


def _email(value: Any) -> str:
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise Invalid(f"must be an e-mail address, got {_show(value)}")
    return value


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"must be a list of strings, got {_show(value)}")
    return list(value)


def _choice(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"must be one of {', '.join(choices)}; got {_show(value)}")
        return value
    return check


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be a whole number, got {_show(value)}")
        if not low <= value <= high:
            raise Invalid(f"must be between {low} and {high}, got {value}")
        return value
    return check


def _weight(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:
        raise Invalid(f"must be a number above 0 and at most 1000, got {_show(value)}")
    return float(value)


def _number(value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise Invalid(f"must be a number from {low} to {high}, got {_show(value)}")
    return float(value)


def _duration(value: Any) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _upstream(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be an rsync URL such as rsync://host/module/, got {_show(value)}")
    try:
        return parse_upstream(value).url
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _argv(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        example = "[" + ", ".join(value.split()) + "]"
        raise Invalid(f"{what} is one string {value!r}; write it as an argv list, e.g. {example}")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid(f"{what} must be a list of non-empty strings, got {_show(value)}")
    return list(value)


def _stages(value: Any) -> list[list[str]]:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise Invalid(
            "must be a non-empty list of stages, each an argv list, e.g. "
            "[[--exclude=/iso/]] or [[], [--exclude=Packages*]]; got " + _show(value))
    stages = []
    for number, stage in enumerate(value, 1):
        stage = _argv(stage, f"stage {number}")
        for arg in stage:
            _check_stage_arg(number, arg)
        stages.append(stage)
    return stages


def _check_stage_arg(number: int, arg: str) -> None:
    if any(q in arg for q in "'\""):
        raise Invalid(
            f"stage {number} argument {arg!r} contains quotes; arguments reach rsync without "
            f"a shell, so quotes would be matched literally; write {arg.replace(chr(39), '').replace(chr(34), '')!r}")
    option = arg.split("=", 1)[0]
    for forbidden, why in FORBIDDEN_STAGE_OPTIONS.items():
        if option == forbidden or (forbidden.endswith("*") and option.startswith(forbidden[:-1])):
            raise Invalid(f"stage {number} argument {arg!r} is not allowed: {why}")


def _command(value: Any) -> list[str]:
    return _argv(value, "command")


def _env(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) and isinstance(v, str)
            for k, v in value.items()):
        raise Invalid("must map UPPER_CASE names to strings, e.g. {GIT_DEPTH: '1'}")
    return dict(value)


def _secret_name(value: Any) -> str:
    if not isinstance(value, str) or not _SECRET_NAME.fullmatch(value):
        raise Invalid("must name a key of speculum_secrets (letters, digits, _), "
                      "never the password itself")
    return value


def _relative_path(value: Any) -> str:
    value = _string(value)
    if value.startswith("/") or ".." in value.split("/"):
        raise Invalid(f"must be a path inside the project tree such as lastsync, got {value!r}")
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- the schema ---------------------------------------------------------------

SYNC_FIELDS = (
    Field("method", "How the tree is filled: `rsync` pulls from `upstream`; `script` runs "
          "`command`; `static` never syncs (files are placed by other means).",
          _choice(*METHODS), kind="rsync | script | static", required=True),
    Field("upstream", "Source tree. Required for `rsync`; passed to scripts as "
          "`SPECULUM_UPSTREAM`. `rsync://host[:port]/module/path/` or `host::module/path`.",
          _upstream, kind="rsync URL", example="rsync://rsync.archlinux.org/ftp_tier1/"),
    Field("stages", "Extra rsync arguments per stage, on top of the site defaults, as argv "
          "lists (never shell strings). Stages run in order; only the **last** stage deletes "
          "(two-stage sync: pool first, indices and deletions last).",
          _stages, kind="list of argv lists", default=[[]],
          example="[[--exclude=Packages*, --exclude=Release*], []]"),
    Field("syncs_per_day", "Runs per day, evenly spaced; the period must be a whole number of "
          f"minutes (1440 / syncs_per_day). At most {MAX_SYNCS_PER_DAY}. "
          "Give this or `interval`.",
          _int_range(1, MAX_SYNCS_PER_DAY), kind="integer", example="12"),
    Field("interval", "Alternative to `syncs_per_day`: time between runs, dividing 24h.",
          _duration, kind="duration", example="6h"),
    Field("timeout", "Wall-clock limit of one run (rsync's own --timeout only bounds I/O "
          "idleness). Default: the site's `sync_default_timeout`.",
          _duration, kind="duration", example="4h"),
    Field("max_delete", "Refuse a run that would delete more than this many files "
          "(rsync exit 25). Default: the site's `sync_default_max_delete`.",
          _int_range(0, 10**9), kind="integer", example="4000"),
    Field("estimate", "Expected duration of a run, used by the scheduler until the host has "
          "recorded real runs (then it plans with a high percentile of recent runs). "
          "Default: the site's `default_duration` (15m).",
          _duration, kind="duration", example="45m"),
    Field("weight", "Relative bandwidth of a run, for the scheduler's third objective "
          "(spread the heavy syncs apart).", _weight, kind="number", default=1.0, example="3"),
    Field("user", "rsync user name for an authenticated upstream module.",
          _string, example="speculum"),
    Field("password_secret", "Name of the entry of `speculum_secrets` (the vault) holding "
          "the rsync password; it reaches the run as a 0600 credential file.",
          _secret_name, example="archlinux_rsync_password"),
    Field("command", "`script` method: the program to run, as an argv list. It gets "
          "SPECULUM_PROJECT, SPECULUM_TARGET, SPECULUM_UPSTREAM, SPECULUM_LOG_FILE and "
          "SPECULUM_TIMEOUT in its environment.",
          _command, kind="argv list", example="[/usr/local/bin/sync-foo, --quiet]"),
    Field("env", "`script` method: extra environment variables.", _env,
          kind="mapping", example="{GIT_DEPTH: '1'}"),
)

VERIFY_FIELDS = (
    Field("file", "Marker file inside the tree, e.g. `lastsync` or `project/trace/master`.",
          _relative_path, required=True, example="lastsync"),
    Field("format", "How to read the marker's time: " + ", ".join(MARKER_FORMATS) + ".",
          _choice(*MARKER_FORMATS), kind=" | ".join(MARKER_FORMATS), required=True,
          example="unix"),
)

SCAN_FIELDS = (
    Field("files", "Regular files upstream.", _int_range(0, 10**12), kind="integer", required=True),
    Field("size", "Their total size in bytes.", _int_range(0, 10**18), kind="integer", required=True),
    Field("seconds", "How long listing the tree took.", lambda v: _number(v, 0, 10**7),
          kind="number", required=True),
    Field("date", "When (YYYY-MM-DD).", _string, required=True),
)

USAGE_FIELDS = (
    Field("type", "Which instructions the project's page shows: " + ", ".join(USAGE_TYPES)
          + " (`files`: plain downloads with curl, wget and rsync).",
          _choice(*USAGE_TYPES), kind=" | ".join(USAGE_TYPES), default="files", example="apt"),
    Field("suites", "`apt`: the suites (releases) of the sources line.", _string_list,
          kind="list of strings", example="[bookworm, bookworm-updates]"),
    Field("components", "`apt`: the components of the sources line.", _string_list,
          kind="list of strings", example="[main, contrib]"),
    Field("path", "Repository path inside the tree, appended to the project's URL; may hold "
          "the package manager's variables (`$releasever`, `$basearch`, `$repo`, `$arch`).",
          _string, example="$releasever/BaseOS/$basearch/os/"),
    Field("repo", "`dnf`, `zypper`: the repository's name (default: the project id).",
          _string, example="rocky-baseos"),
)

PROJECT_FIELDS = (
    Field("name", "Display name.", _string, required=True, example="Arch Linux"),
    Field("category", "Groups the project list.", _string, default="Software",
          example="Distributions"),
    Field("description", "One line shown in the project list.", _string),
    Field("homepage", "Upstream project's home page.", _url, kind="URL"),
    Field("icon", "Icon path below the site's static files.", _string),
    Field("official", "This is an officially listed mirror of the project.", _bool,
          kind="boolean", default=False),
    Field("enabled", "Deploy units, locations and pages for it. New projects start "
          "disabled until scanned.", _bool, kind="boolean", default=False),
    Field("public_rsync", "Offer the tree in the public rsync daemon.", _bool,
          kind="boolean", default=True),
    Field("alternative", "Another mirror users can fall back to.", _url, kind="URL"),
    Field("admin", "Who looks after this project on our side.", _string),
    Field("admin_email", "Their e-mail address.", _email, kind="e-mail"),
    Field("public_notes", "Shown on the project's page.", _string),
    Field("comments", "Admin log (not published), newest last.", _string_list,
          kind="list of strings", default=[]),
    Field("usage", "How users point their package manager at the mirror: shown on the "
          "project's page, with this host's URL filled in.", kind="mapping", fields=USAGE_FIELDS),
    Field("sync", "How and when the tree is synced.", kind="mapping", required=True,
          fields=SYNC_FIELDS),
    Field("verify", "Freshness marker, read after each successful sync.", kind="mapping",
          fields=VERIFY_FIELDS),
    Field("scan", "Written by `mirrorctl scan`: the upstream tree's size; shown on pages and "
          "used to estimate run time before the host has recorded runs.", kind="mapping",
          fields=SCAN_FIELDS),
)


# --- validation -----------------------------------------------------------------

def validate(projects: Any, secrets: dict | None = None) -> list[ValidationError]:
    """Every problem in the database, sorted by project and field.

    With ``secrets`` (the vault's speculum_secrets), every password_secret must
    name one of its keys.
    """
    if projects is None:
        return [ValidationError("", "speculum_projects", "is empty; list at least one project")]
    if not isinstance(projects, dict):
        return [ValidationError("", "speculum_projects",
                                f"must be a mapping of project id to record, got {_show(projects)}")]
    errors: list[ValidationError] = []
    for pid, record in projects.items():
        errors.extend(_validate_project(pid, record))
        secret = record.get("sync", {}).get("password_secret") if isinstance(record, dict) \
            and isinstance(record.get("sync"), dict) else None
        if secrets is not None and isinstance(secret, str) and secret not in secrets:
            errors.append(ValidationError(pid, "sync.password_secret",
                                          f"names '{secret}', which speculum_secrets does not define"))
    return sorted(errors)


def normalize(projects: dict, defaults: dict | None = None) -> dict[str, dict]:
    """The database with defaults filled in and durations in seconds.

    ``defaults`` holds the site-wide ``timeout`` (seconds or duration) and
    ``max_delete``. Raises ValueError listing all errors if the database is invalid.
    """
    errors = validate(projects)
    if errors:
        raise ValueError(format_errors(errors))
    defaults = defaults or {}
    out = {}
    for pid, record in projects.items():
        project = _apply(PROJECT_FIELDS, record)
        project["id"] = pid
        if project.get("usage") is None:
            project["usage"] = {"type": "files"}
        sync = project["sync"]
        if sync["method"] == "static":
            sync["syncs_per_day"] = 0
        else:
            if sync.get("interval"):
                sync["syncs_per_day"] = MINUTES_PER_DAY * 60 // sync["interval"]
            sync.setdefault("syncs_per_day", None)
            if sync["syncs_per_day"] is None:
                sync["syncs_per_day"] = int(defaults.get("syncs_per_day", 4))
            if sync.get("timeout") is None:
                sync["timeout"] = parse_duration(defaults.get("timeout", "6h"))
            if sync.get("max_delete") is None:
                sync["max_delete"] = int(defaults.get("max_delete", 4000))
        sync.pop("interval", None)
        if sync["method"] != "rsync":
            sync.pop("stages", None)
        if sync.get("upstream"):
            sync["upstream_host"] = parse_upstream(sync["upstream"]).host
        out[pid] = project
    return out


def format_errors(errors: list[ValidationError]) -> str:
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} {noun} in the project database:\n" + "\n".join(f"  - {e}" for e in errors)


def _validate_project(pid: Any, record: Any) -> list[ValidationError]:
    if not isinstance(pid, str) or not PROJECT_ID.fullmatch(pid):
        return [ValidationError(str(pid), "", "the project id must be 1-64 characters of a-z, "
                                "0-9, '-' and '_', starting with a letter or digit")]
    if pid in RESERVED_PATHS:
        return [ValidationError(pid, "", f"'{pid}' is a path of the web site (/{pid}/); "
                                "choose another project id")]
    if not isinstance(record, dict):
        return [ValidationError(pid, "", f"must be a mapping of fields, got {_show(record)}")]
    errors = _check_fields(pid, "", PROJECT_FIELDS, record)
    sync = record.get("sync")
    if isinstance(sync, dict):
        errors.extend(_check_sync_rules(pid, sync))
    usage = record.get("usage")
    if isinstance(usage, dict) and usage.get("type") == "apt" and not usage.get("suites"):
        errors.append(ValidationError(pid, "usage.suites", "is required for apt: the sources "
                                      "line names the suites, e.g. [bookworm]"))
    return errors


def _check_fields(pid: str, prefix: str, fields: tuple[Field, ...], record: dict) -> list[ValidationError]:
    errors = []
    known = {f.name: f for f in fields}
    for key in record:
        if key not in known:
            hint = difflib.get_close_matches(str(key), known, n=1)
            more = f" (did you mean '{hint[0]}'?)" if hint else ""
            errors.append(ValidationError(pid, prefix + str(key), f"unknown field{more}"))
    for f in fields:
        path = prefix + f.name
        if f.name not in record or record[f.name] is None:
            if f.required:
                errors.append(ValidationError(pid, path, "is required"))
            continue
        value = record[f.name]
        if f.fields:
            if not isinstance(value, dict):
                errors.append(ValidationError(pid, path, f"must be a mapping, got {_show(value)}"))
            else:
                errors.extend(_check_fields(pid, path + ".", f.fields, value))
            continue
        try:
            f.check(value)
        except Invalid as exc:
            errors.append(ValidationError(pid, path, str(exc)))
    return errors


def _check_sync_rules(pid: str, sync: dict) -> list[ValidationError]:
    """Rules that tie several sync fields together."""
    errors = []
    method = sync.get("method")

    def err(name: str, message: str) -> None:
        errors.append(ValidationError(pid, "sync." + name, message))

    given = {k for k, v in sync.items() if v is not None}
    if method == "rsync" and "upstream" not in given:
        err("upstream", "is required for method rsync")
    if method == "script" and "command" not in given:
        err("command", "is required for method script")
    if method == "static":
        for name in sorted(given - {"method", "upstream"}):
            err(name, "is not used by method static (static projects never sync)")
    if method == "rsync":
        for name in sorted(given & {"command", "env"}):
            err(name, "is only used by method script")
    if method == "script" and "stages" in given:
        err("stages", "is only used by method rsync")
    if "syncs_per_day" in given and "interval" in given:
        err("interval", "give either syncs_per_day or interval, not both")
    if "password_secret" in given and "user" not in given:
        err("user", "is required when password_secret is set")
    per_day = sync.get("syncs_per_day")
    if isinstance(per_day, int) and not isinstance(per_day, bool) and 1 <= per_day <= MAX_SYNCS_PER_DAY:
        if MINUTES_PER_DAY % per_day:
            err("syncs_per_day", f"{per_day} runs a day is a period of "
                f"{MINUTES_PER_DAY / per_day:.1f} minutes, not a whole number; "
                f"nearest valid values: {_nearest_divisors(per_day)}")
    interval = sync.get("interval")
    if interval is not None:
        try:
            seconds = parse_duration(interval)
        except ValueError:
            pass  # reported by the field check
        else:
            if seconds % 60 or (MINUTES_PER_DAY * 60) % seconds or seconds < 300:
                err("interval", f"{interval!r} must be whole minutes, at least 5m, dividing "
                    "24h evenly (e.g. 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 24h)")
    return errors


def _nearest_divisors(per_day: int) -> str:
    valid = [d for d in range(1, MAX_SYNCS_PER_DAY + 1) if MINUTES_PER_DAY % d == 0]
    below = max(d for d in valid if d < per_day)
    above = min((d for d in valid if d > per_day), default=None)
    return f"{below} or {above}" if above else str(below)


def _apply(fields: tuple[Field, ...], record: dict) -> dict:
    """Normalised copy of a valid record: defaults filled, values checked."""
    out = {}
    for f in fields:
        value = record.get(f.name)
        if value is None:
            if f.fields and f.required:
                value = {}
            elif f.default is not None:
                out[f.name] = _copy(f.default)
                continue
            else:
                if f.fields:
                    out[f.name] = None
                continue
        out[f.name] = _apply(f.fields, value) if f.fields else f.check(value)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- documentation ------------------------------------------------------------------

def markdown_reference() -> str:
    """The field reference of docs/projects-schema.md (kept in sync by a test)."""
    lines = ["| field | type | required | default | meaning |", "|---|---|---|---|---|"]

    def rows(fields: tuple[Field, ...], prefix: str) -> None:
        for f in fields:
            default = "" if f.default is None else f"`{_yamlish(f.default)}`"
            example = f" Example: `{f.example}`." if f.example else ""
            cells = (f"`{prefix}{f.name}`", f.kind, "yes" if f.required else "", default,
                     f.doc + example)
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            if f.fields:
                rows(f.fields, prefix + f.name + ".")

    rows(PROJECT_FIELDS, "")
    return "\n".join(lines) + "\n"


def _yamlish(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yamlish(v) for v in value) + "]"
    return str(value)


__all__ = ["Field", "ValidationError", "validate", "normalize", "format_errors",
           "markdown_reference", "PROJECT_FIELDS", "METHODS", "MARKER_FORMATS"]
