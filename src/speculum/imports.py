"""Importers: turn another mirror host's configuration into Speculum projects.

Two sources are understood:

* ``import_cosi`` reads the ``mirrors.json`` of COSI's mirror (Clarkson Open
  Source Institute, github.com/COSI-Lab/Mirror): one record per project with
  an ``rsync``, ``script`` or ``static`` block.
* ``import_scripts`` reads a directory of legacy per-project shell scripts
  (``source globalvars`` header, ``mirror=``/``data=``/``data_location=``/
  ``options=`` variables and one or more ``${RSYNC} ...`` lines), with their
  systemd ``.timer`` files for the schedule.

Both return an ``ImportResult``: project records in the database format of
``schema.py`` (plain dicts and lists, ready for YAML), the names of the
``speculum_secrets`` entries the admin must add to the vault, and one note
for everything that could not be carried over. Nothing is silently lost: an
option, a field or a line that is not imported is named in a note.

rsync options are translated, not copied. Speculum runs every stage as
``rsync DEFAULT_OPTIONS STAGE [--delete-delay --max-delete=N] UPSTREAM
TARGET`` without a shell, so an imported stage keeps only what is particular
to the project (filters, ``--ipv4``, ...) and drops

* what the site defaults already give (``-rlptH``, ``--safe-links``,
  ``--delay-updates``, ``--timeout``, ``--stats``, the ``.~tmp~`` exclude);
* what is site policy (compression ``-z``, fuzzy matching ``-y``, ownership
  and permissions: ``--no-perms``/``--no-owner``/``--no-group``, ``-g -o -D``);
* what the runner owns (verbosity and logging, deletions, ``--max-delete``,
  the password file) and what the schema forbids in a stage (``--inplace``,
  ``--append*``, ``--ignore-errors``, ...);
* what names a file of the old host (``--exclude-from=``, ``--temp-dir=``...).

Filters become single argv elements (``--exclude=PATTERN``) with the shell's
quoting removed, as rsync receives them when run without a shell.

Standard library only: it runs on the mirror host as well as the controller.
"""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rsync import DEFAULT_OPTIONS, FORBIDDEN_STAGE_OPTIONS, parse_upstream
from .schema import MAX_SYNCS_PER_DAY, MINUTES_PER_DAY, PROJECT_ID

VALID_SYNCS_PER_DAY = tuple(d for d in range(1, MAX_SYNCS_PER_DAY + 1) if MINUTES_PER_DAY % d == 0)
DEFAULT_SYNCS_PER_DAY = 4
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_QUOTES = ("'", '"')


@dataclass
class ImportResult:
    projects: dict[str, dict] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- rsync option translation ---------------------------------------------------------

_R_DEFAULTS = "site defaults"
_R_ARCHIVE = "site defaults give its -rlpt; its -goD are not kept on a mirror"
_R_OWNERSHIP = "site policy: permissions kept, never owner or group"
_R_DEVICES = "site policy: no devices or special files"
_R_COMPRESS = "site policy: no compression"
_R_FUZZY = "site policy: no fuzzy matching"
_R_LOGGING = "the runner logs every run"
_R_DRYRUN = "a dry run would never sync"
_R_OLD_HOST = "names a file or program of the old host; carry it over by hand"
_R_TIMEOUT = "site defaults (--timeout=600 --contimeout=60; wall-clock limit: sync.timeout)"
_R_TMP = "site defaults exclude and protect .~tmp~/"
_R_RECURSE = "site defaults recurse"
_R_PASSWORD = "the password goes to the vault: sync.password_secret"
_R_PORT = "the port is part of the upstream URL"

# Short options: letter -> (long form kept in the stage, or None to drop; reason if dropped)
_SHORT: dict[str, tuple[str | None, str]] = {
    "a": (None, _R_ARCHIVE),
    "r": (None, _R_DEFAULTS), "l": (None, _R_DEFAULTS), "p": (None, _R_DEFAULTS),
    "t": (None, _R_DEFAULTS), "H": (None, _R_DEFAULTS), "d": (None, _R_RECURSE),
    "g": (None, _R_OWNERSHIP), "o": (None, _R_OWNERSHIP), "D": (None, _R_DEVICES),
    "v": (None, _R_LOGGING), "q": (None, _R_LOGGING), "P": (None, _R_LOGGING),
    "i": (None, _R_LOGGING), "h": (None, _R_LOGGING),
    "z": (None, _R_COMPRESS), "y": (None, _R_FUZZY), "n": (None, _R_DRYRUN),
    "4": ("--ipv4", ""), "6": ("--ipv6", ""), "c": ("--checksum", ""), "S": ("--sparse", ""),
    "L": ("--copy-links", ""), "W": ("--whole-file", ""), "u": ("--update", ""),
    "x": ("--one-file-system", ""), "C": ("--cvs-exclude", ""), "m": ("--prune-empty-dirs", ""),
    "k": ("--copy-dirlinks", ""), "K": ("--keep-dirlinks", ""), "I": ("--ignore-times", ""),
}
# Short options taking an argument: letter -> long form (None: dropped, old host).
_SHORT_WITH_ARG = {"f": "--filter", "B": "--block-size", "e": None, "T": None, "M": None}

_LONG_DROP: dict[str, str] = {
    **dict.fromkeys(("--recursive", "--links", "--perms", "--times", "--hard-links",
                     "--safe-links", "--delay-updates", "--stats", "--no-motd", "--archive"),
                    _R_DEFAULTS),
    "--dirs": _R_RECURSE,
    **dict.fromkeys(("--timeout", "--contimeout"), _R_TIMEOUT),
    **dict.fromkeys(("--no-perms", "--no-owner", "--no-group", "--no-p", "--no-o", "--no-g",
                     "--owner", "--group", "--numeric-ids",
                     "--executability", "--acls", "--xattrs", "--chmod", "--chown",
                     "--usermap", "--groupmap", "--super", "--fake-super"), _R_OWNERSHIP),
    **dict.fromkeys(("--compress", "--compress-level", "--compress-choice", "--zc", "--zl",
                     "--skip-compress", "--new-compress", "--old-compress"), _R_COMPRESS),
    **dict.fromkeys(("--devices", "--specials"), _R_DEVICES),
    "--fuzzy": _R_FUZZY,
    **dict.fromkeys(("--verbose", "--quiet", "--progress", "--itemize-changes",
                     "--human-readable", "--info", "--debug", "--out-format", "--log-format",
                     "--log-file-format", "--8-bit-output", "--msgs2stderr"), _R_LOGGING),
    **dict.fromkeys(("--dry-run", "--list-only"), _R_DRYRUN),
    **dict.fromkeys(("--exclude-from", "--include-from", "--files-from", "--rsh",
                     "--rsync-path", "--temp-dir", "--backup-dir", "--compare-dest",
                     "--link-dest", "--copy-dest", "--write-batch", "--only-write-batch",
                     "--read-batch", "--partial-dir", "--log-file", "--config"), _R_OLD_HOST),
    "--partial": "partial files would be visible to users; the site uses --delay-updates",
}
_LONG_KEEP = frozenset((
    "--exclude", "--include", "--filter", "--ipv4", "--ipv6", "--no-inc-recursive",
    "--inc-recursive", "--checksum", "--bwlimit", "--size-only", "--min-size", "--max-size",
    "--copy-links", "--copy-unsafe-links", "--sparse", "--prune-empty-dirs", "--modify-window",
    "--ignore-existing", "--existing", "--ignore-times", "--cvs-exclude", "--one-file-system",
    "--block-size", "--iconv", "--protocol", "--address", "--sockopts", "--whole-file",
    "--no-whole-file", "--checksum-choice", "--update", "--keep-dirlinks", "--copy-dirlinks",
    "--max-alloc", "--open-noatime", "--no-implied-dirs", "--relative", "--no-relative",
    "--omit-dir-times", "--omit-link-times", "--preallocate", "--trust-sender",
))
# Long options that take a value (``--opt VALUE`` or ``--opt=VALUE``).
_LONG_WITH_ARG = frozenset((
    "--exclude", "--include", "--filter", "--timeout", "--contimeout", "--bwlimit", "--port",
    "--max-delete", "--password-file", "--exclude-from", "--include-from", "--files-from",
    "--log-file", "--log-file-format", "--temp-dir", "--partial-dir", "--out-format",
    "--log-format", "--min-size", "--max-size", "--chmod", "--chown", "--usermap",
    "--groupmap", "--compare-dest", "--link-dest", "--copy-dest", "--backup-dir", "--suffix",
    "--modify-window", "--block-size", "--rsh", "--rsync-path", "--sockopts", "--iconv",
    "--skip-compress", "--compress-level", "--compress-choice", "--zc", "--zl",
    "--checksum-choice", "--info", "--debug", "--max-alloc", "--address", "--outbuf",
    "--remote-option", "--protocol", "--stop-after", "--stop-at", "--write-batch",
    "--only-write-batch", "--read-batch", "--config",
))
_DELETES = re.compile(r"--del(ete.*)?")


@dataclass
class _Options:
    """One rsync command line, translated into a Speculum stage."""
    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (as written, why)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (as written, kept as)
    review: list[str] = field(default_factory=list)  # kept, but not recognised
    positional: list[str] = field(default_factory=list)
    deletes: bool = False
    recursive: bool = False
    password_file: str | None = None
    port: int | None = None


def _forbidden_why(option: str) -> str | None:
    for forbidden, why in FORBIDDEN_STAGE_OPTIONS.items():
        if option == forbidden or (forbidden.endswith("*") and option.startswith(forbidden[:-1])):
            return why
    return None


def _translate(tokens: list[str]) -> _Options:
    """Split an rsync argv (without the program) into the Speculum stage and the rest."""
    out = _Options()
    i = 0
    options_done = False
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if options_done or not token.startswith("-") or token == "-":
            out.positional.append(token)
            continue
        if token == "--":
            options_done = True
            continue
        if token.startswith("--"):
            name, eq, value = token.partition("=")
            shown = token
            if not eq and name in _LONG_WITH_ARG:
                if i < len(tokens):
                    value = tokens[i]
                    i += 1
                    shown = f"{name}={value}"
                else:
                    out.dropped.append((token, "its value is missing"))
                    continue
            _long(out, name, value, shown)
            continue
        # a cluster of short options, e.g. -avzrHy or -4 or -f'- *.iso'
        letters = token[1:]
        dropped_here: dict[str, list[str]] = {}
        j = 0
        while j < len(letters):
            letter = letters[j]
            j += 1
            if letter in _SHORT_WITH_ARG:
                value = letters[j:]
                j = len(letters)
                if not value:
                    if i < len(tokens):
                        value = tokens[i]
                        i += 1
                    else:
                        dropped_here.setdefault("its value is missing", []).append(letter)
                        continue
                long = _SHORT_WITH_ARG[letter]
                if long is None:
                    dropped_here.setdefault(_R_OLD_HOST, []).append(f"{letter} {value}")
                else:
                    _keep(out, f"{long}={value}", f"-{letter} {value}")
                continue
            kept, why = _SHORT.get(letter, (f"-{letter}", "unknown"))
            if letter in "ar":
                out.recursive = True
            if kept is None:
                dropped_here.setdefault(why, []).append(letter)
            else:
                _keep(out, kept, f"-{letter}")
                if why == "unknown":
                    out.review.append(f"-{letter}")
        if dropped_here:
            detail = "; ".join(f"-{''.join(ls)}: {why}" for why, ls in dropped_here.items())
            out.dropped.append((token, detail))
    return out


def _keep(out: _Options, arg: str, shown: str) -> None:
    if any(q in arg for q in _QUOTES):
        out.dropped.append((shown, "still contains a quote character after removing the "
                            "shell quoting; rsync would match it literally"))
        return
    out.kept.append(arg)
    if arg != shown:
        out.renamed.append((shown, arg))


def _long(out: _Options, name: str, value: str, shown: str) -> None:
    if name in ("--recursive", "--archive"):
        out.recursive = True
    if _DELETES.fullmatch(name):
        out.deletes = True
    if name == "--password-file":
        out.password_file = value
        out.dropped.append((shown, _R_PASSWORD))
        return
    if name == "--port":
        if value.isdigit():
            out.port = int(value)
            out.dropped.append((shown, _R_PORT))
        else:
            out.dropped.append((shown, "not a port number"))
        return
    why = _forbidden_why(name)
    if why:
        out.dropped.append((shown, "forbidden in stages: " + why))
        return
    if name in ("--exclude", "--include") and value.strip("/") == ".~tmp~":
        out.dropped.append((shown, _R_TMP))
        return
    if name in ("--exclude", "--include", "--filter") and not value:
        out.dropped.append((shown, "empty pattern"))
        return
    if name == "--filter" and re.match(r"(merge|\.)[ ,_]", value):
        out.dropped.append((shown, _R_OLD_HOST))
        return
    if name in _LONG_DROP:
        out.dropped.append((shown, _LONG_DROP[name]))
        return
    arg = f"{name}={value}" if (value or "=" in shown) else name
    _keep(out, arg, shown)
    if name not in _LONG_KEEP:
        out.review.append(arg)


def _describe_dropped(dropped: list[tuple[str, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for shown, why in dropped:
        groups.setdefault(why, []).append(shown)
    return "; ".join(f"{', '.join(items)} ({why})" for why, items in groups.items())


_SITE_NOTE = ("{source}: an imported stage holds only the rsync options particular to its "
              "project; the site defaults (" + " ".join(DEFAULT_OPTIONS) + ") and the runner's "
              "--delete-delay --max-delete=N come first; every option left out is named below "
              "with the reason")


def _option_notes(pid: str, where: str, opts: _Options) -> list[str]:
    notes = []
    if opts.dropped:
        notes.append(f"{pid}: {where}: dropped rsync options {_describe_dropped(opts.dropped)}")
    for shown, arg in opts.renamed:
        if shown.split("=", 1)[0] != arg.split("=", 1)[0] and not shown.startswith("--"):
            notes.append(f"{pid}: {where}: kept {shown} as {arg}")
    for arg in opts.review:
        notes.append(f"{pid}: {where}: kept {arg}, an option the importer does not know; review it")
    return notes


# --- helpers shared by both importers -----------------------------------------------------

def _project_id(key: str, taken: Iterable[str]) -> str:
    pid = key if PROJECT_ID.fullmatch(key) else re.sub(r"[^a-z0-9_-]+", "-", key.lower())
    pid = pid.lstrip("_-")[:64].rstrip("_-") or "project"
    base, n = pid, 2
    while pid in taken:
        suffix = f"-{n}"
        pid = base[:64 - len(suffix)] + suffix
        n += 1
    return pid


def nearest_syncs_per_day(value: float) -> int:
    """The valid syncs_per_day (divides 1440, 1..288) nearest to ``value``; ties go lower."""
    return min(VALID_SYNCS_PER_DAY, key=lambda d: (abs(d - value), d))


def _syncs_per_day(pid: str, value: Any, notes: list[str], what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        notes.append(f"{pid}: {what} {value!r} is not a positive number; "
                     f"using the default of {DEFAULT_SYNCS_PER_DAY} a day")
        return DEFAULT_SYNCS_PER_DAY
    chosen = nearest_syncs_per_day(value)
    if chosen != value:
        notes.append(f"{pid}: {what} {value:g} is not a valid syncs_per_day (it must divide "
                     f"1440 minutes and be at most {MAX_SYNCS_PER_DAY}); using {chosen}")
    return chosen


def _marker_format(path: str) -> str:
    name = re.sub(r"[^a-z0-9]", "", path.rsplit("/", 1)[-1].lower())
    if "lastsync" in name or "lastupdate" in name:
        return "unix"
    if "trace" in path.lower():
        return "debian-trace"
    return "mtime"


def _stages_record(stages: list[list[str]]) -> list[list[str]] | None:
    return None if stages == [[]] else stages


def _clean(record: dict) -> dict:
    """Drop None values (recursively), keeping the key order."""
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = _clean(value)
        if value is not None:
            out[key] = value
    return out


def _today(today: _dt.date | None) -> str:
    return (today or _dt.date.today()).isoformat()


# --- COSI mirrors.json ---------------------------------------------------------------------

_COSI_PASSES = (("options", "first"), ("second", "second"), ("third", "third"))
_COSI_HANDLED = {"name", "page", "rsync", "script", "static", "official", "homepage",
                 "publicRsync", "alternative"}
_COSI_RSYNC_HANDLED = {"options", "second", "third", "user", "host", "src", "dest",
                       "sync_file", "syncs_per_day", "password_file"}


def import_cosi(data: dict, *, today: _dt.date | None = None) -> ImportResult:
    """Projects from COSI's mirrors.json (``data`` is the parsed JSON)."""
    result = ImportResult()
    notes = result.notes
    comment = f"Imported from COSI mirrors.json on {_today(today)}"
    mirrors = data.get("mirrors") if isinstance(data, dict) else None
    if not isinstance(mirrors, dict):
        notes.append("mirrors.json: no 'mirrors' mapping; nothing imported")
        return result
    notes.append(_SITE_NOTE.format(source="mirrors.json"))
    torrents = data.get("torrents")
    if torrents:
        notes.append(f"mirrors.json: top-level 'torrents' ({len(torrents)} remote torrent "
                     "sources) not imported: Speculum has no torrent tracker or seeder")
    for key, mirror in mirrors.items():
        pid = _project_id(str(key), result.projects)
        if pid != key:
            notes.append(f"{pid}: renamed from COSI id {key!r} (project ids are 1-64 "
                         "characters of a-z, 0-9, '-' and '_')")
        if not isinstance(mirror, dict):
            notes.append(f"{pid}: COSI record is not a mapping; not imported")
            continue
        record = _cosi_project(pid, str(key), mirror, result)
        if record is None:
            continue
        record["comments"] = [comment]
        result.projects[pid] = _clean(record)
    return result


def _cosi_project(pid: str, key: str, mirror: dict, result: ImportResult) -> dict | None:
    notes = result.notes
    methods = [m for m in ("rsync", "script", "static") if isinstance(mirror.get(m), dict)]
    if len(methods) != 1:
        notes.append(f"{pid}: needs exactly one of rsync, script, static; found "
                     f"{methods or 'none'}; not imported")
        return None
    method = methods[0]
    name = mirror.get("name") if isinstance(mirror.get("name"), str) and mirror["name"].strip() else key
    record: dict[str, Any] = {"name": name}
    page = mirror.get("page")
    record["category"] = page if isinstance(page, str) and page.strip() else None
    record["description"] = None
    homepage = mirror.get("homepage")
    if isinstance(homepage, str) and _URL.fullmatch(homepage):
        record["homepage"] = homepage
    else:
        record["homepage"] = None
        notes.append(f"{pid}: homepage {homepage!r} is not an http(s) URL; left out")
    record["official"] = bool(mirror.get("official", False))
    record["enabled"] = True  # every project of COSI's file is live there
    if method == "rsync":
        sync, verify = _cosi_rsync(pid, mirror["rsync"], result)
    elif method == "script":
        sync, verify = _cosi_script(pid, mirror["script"], notes), None
    else:
        sync, verify = {"method": "static"}, None
        record["description"] = _cosi_static(pid, mirror["static"], notes)
    if sync is None:
        return None
    record["description"] = record["description"] or f"Mirror of {name}"
    record["sync"] = sync
    record["verify"] = verify
    record["public_rsync"] = bool(mirror.get("publicRsync", True))
    alternative = mirror.get("alternative")
    if alternative is None:
        record["alternative"] = None
    elif isinstance(alternative, str) and _URL.fullmatch(alternative):
        record["alternative"] = alternative
    else:
        record["alternative"] = None
        notes.append(f"{pid}: alternative {alternative!r} is not an http(s) URL; left out")
    left = [f"{k} {mirror[k]!r}" for k in mirror if k not in _COSI_HANDLED]
    if left:
        notes.append(f"{pid}: not imported (no Speculum field): {', '.join(left)}")
    return record


def _cosi_rsync(pid: str, cfg: dict, result: ImportResult) -> tuple[dict | None, dict | None]:
    notes = result.notes
    host, src = cfg.get("host"), cfg.get("src")
    if not isinstance(host, str) or not isinstance(src, str) or not host or not src.strip("/"):
        notes.append(f"{pid}: rsync needs host and src, got {host!r} and {src!r}; not imported")
        return None, None
    passes: list[tuple[str, _Options]] = []
    for field_name, label in _COSI_PASSES:
        text = cfg.get(field_name)
        if not text or not isinstance(text, str) or not text.strip():
            continue
        where = f"{label} rsync pass ({field_name!r})"
        try:
            tokens = shlex.split(text)
        except ValueError as exc:
            notes.append(f"{pid}: {where} {text!r} is not valid shell words ({exc}); "
                         "imported as a stage without extra options")
            tokens = []
        opts = _translate(tokens)
        if opts.positional:
            notes.append(f"{pid}: {where}: ignored non-option words {opts.positional}")
        notes.extend(_option_notes(pid, where, opts))
        passes.append((where, opts))
    if not passes:
        passes.append(("rsync pass", _Options()))
    port = next((o.port for _, o in passes if o.port), None)
    netloc = f"{host}:{port}" if port else host
    try:
        upstream = parse_upstream(f"rsync://{netloc}/{src.strip('/')}/").url
    except ValueError as exc:
        notes.append(f"{pid}: {exc}; not imported")
        return None, None

    deleting = [n for n, (_, o) in enumerate(passes) if o.deletes]
    if deleting and deleting[-1] < len(passes) - 1:
        for where, opts in passes[deleting[-1] + 1:]:
            notes.append(
                f"{pid}: {where} {opts.kept} not imported: it ran after the deleting pass, and "
                "Speculum deletes in the last stage only, with that stage's filters (which would "
                "confine deletions to those files); the deleting pass transfers them too")
        passes = passes[:deleting[-1] + 1]
    if not deleting:
        notes.append(f"{pid}: COSI never deleted files here (no --delete in any pass); Speculum's "
                     "last stage deletes what the upstream removed (at most max_delete a run): "
                     "check that this tree is not meant to keep old files")
    for n in deleting:
        if n < len(passes) - 1:
            notes.append(f"{pid}: {passes[n][0]} deleted; its deletions now happen in the "
                         "last stage only")
    for where, opts in passes:
        if not opts.recursive:
            notes.append(f"{pid}: {where} was not recursive; Speculum stages always recurse "
                         "(site default -r), its filters bound what it fetches")
    stages = [opts.kept for _, opts in passes]

    sync: dict[str, Any] = {"method": "rsync", "upstream": upstream,
                            "stages": _stages_record(stages)}
    sync["syncs_per_day"] = _syncs_per_day(pid, cfg.get("syncs_per_day"), notes,
                                           "rsync.syncs_per_day")
    user = cfg.get("user")
    password_file = cfg.get("password_file") or next(
        (o.password_file for _, o in passes if o.password_file), None)
    if isinstance(user, str) and user.strip():
        sync["user"] = user
    if password_file:
        if "user" in sync:
            secret = pid.replace("-", "_") + "_rsync_password"
            sync["password_secret"] = secret
            if secret not in result.secrets:
                result.secrets.append(secret)
            notes.append(f"{pid}: add the rsync password (COSI's password file "
                         f"{password_file!r}) to the vault as speculum_secrets.{secret}")
        else:
            notes.append(f"{pid}: password file {password_file!r} but no rsync user; "
                         "set sync.user and sync.password_secret by hand")

    dest = cfg.get("dest")
    if isinstance(dest, str) and dest.rstrip("/") != f"/storage/{pid}":
        notes.append(f"{pid}: COSI kept the tree in {dest!r}; Speculum serves it as /{pid}/ "
                     "from its own mirror root (public URLs may change)")
    verify = None
    marker = cfg.get("sync_file")
    if isinstance(marker, str) and marker.strip():
        rel = marker
        if isinstance(dest, str) and rel.startswith(dest.rstrip("/") + "/"):
            rel = rel[len(dest.rstrip("/")) + 1:]
        if rel.startswith("/") or ".." in rel.split("/"):
            notes.append(f"{pid}: sync_file {marker!r} is outside the tree; no verify marker")
        else:
            verify = {"file": rel, "format": _marker_format(rel)}
            notes.append(f"{pid}: verify format {verify['format']!r} guessed from the marker "
                         f"name {rel!r}; check it")
    left = [f"rsync.{k} {cfg[k]!r}" for k in cfg if k not in _COSI_RSYNC_HANDLED]
    if left:
        notes.append(f"{pid}: not imported: {', '.join(left)}")
    return sync, verify


def _env_name(name: str) -> str:
    fixed = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    return fixed if _ENV_NAME.fullmatch(fixed) else "_" + fixed


def _cosi_script(pid: str, cfg: dict, notes: list[str]) -> dict | None:
    command = cfg.get("command")
    if not isinstance(command, str) or not command.strip():
        notes.append(f"{pid}: script without a command; not imported")
        return None
    arguments = [a for a in cfg.get("arguments") or [] if isinstance(a, str)]
    env_in = cfg.get("env") or {}
    env: dict[str, str] = {}
    renames: dict[str, str] = {}
    for name, value in env_in.items():
        new = name if _ENV_NAME.fullmatch(name) else _env_name(name)
        if new != name:
            renames[name] = new
        env[new] = str(value)
    shell = bool(re.search(r"\s|\$|[;&|<>`*?]", command.strip()))
    if shell:
        text = command.strip()
        for old, new in renames.items():
            text = re.sub(r"\$\{" + re.escape(old) + r"\}|\$" + re.escape(old) + r"(?![A-Za-z0-9_])",
                          "${" + new + "}", text)
        if arguments:
            text += " " + shlex.join(arguments)
        argv = ["/bin/sh", "-c", text]
        notes.append(f"{pid}: the script command is a shell command line; imported as "
                     f"[/bin/sh, -c, ...] with its env")
    else:
        argv = [command, *arguments]
    for old, new in renames.items():
        notes.append(f"{pid}: script env {old!r} renamed {new!r} (Speculum env names are "
                     "UPPER_CASE)" + ("; references in the command rewritten" if shell
                                      else "; the program must read the new name"))
    relative = _relative_paths(_loose_words(argv[2]) if shell else argv)
    if relative:
        notes.append(f"{pid}: the script command uses paths relative to COSI's repository "
                     f"({', '.join(relative)}); install it on the host and use absolute paths")
    if "/storage/" in " ".join(argv) + " ".join(env.values()):
        notes.append(f"{pid}: the script names COSI's /storage/ paths; it must write into "
                     "$SPECULUM_TARGET (and other trees' paths) on this host")
    sync: dict[str, Any] = {"method": "script"}
    sync["syncs_per_day"] = _syncs_per_day(pid, cfg.get("syncs_per_day"), notes,
                                           "script.syncs_per_day")
    sync["command"] = argv
    sync["env"] = env or None
    left = [f"script.{k} {cfg[k]!r}" for k in cfg
            if k not in ("command", "arguments", "env", "syncs_per_day")]
    if left:
        notes.append(f"{pid}: not imported: {', '.join(left)}")
    return sync


def _loose_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _relative_paths(words: list[str]) -> list[str]:
    """Words that name files relative to the working directory."""
    found = []
    for word in words:
        if word.startswith("-") or "://" in word or word.startswith(("/", "$", "~")):
            continue
        if "/" in word or re.fullmatch(r"[\w.-]+\.(py|sh|pl|rb|conf|cfg)", word):
            found.append(word)
    return found


def _cosi_static(pid: str, cfg: dict, notes: list[str]) -> str | None:
    location, source = cfg.get("location"), cfg.get("source")
    if isinstance(location, str) and location.rstrip("/") != f"/storage/{pid}":
        notes.append(f"{pid}: COSI served the static tree from {location!r}; Speculum serves "
                     f"it as /{pid}/ from its own mirror root: copy the files there")
    if source:
        notes.append(f"{pid}: static source {source!r} not imported (no Speculum field); "
                     "the files are placed by hand")
    description = cfg.get("description")
    return description if isinstance(description, str) and description.strip() else None


# --- systemd timers ---------------------------------------------------------------------------

_CALENDAR_SHORTHANDS = {
    "minutely": "*-*-* *:*:00", "hourly": "*-*-* *:00:00", "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00", "monthly": "*-*-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00", "semiannually": "*-01,07-01 00:00:00",
    "yearly": "*-01-01 00:00:00", "annually": "*-01-01 00:00:00",
}
_WEEKDAY = re.compile(r"(?i)(mon|tue|wed|thu|fri|sat|sun)[a-z]*([.,]+(mon|tue|wed|thu|fri|sat|sun)[a-z]*)*")
_TIMESPAN_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1,
    "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600,
    "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800,
    "week": 604800, "weeks": 604800,
}


def _calendar_values(text: str, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        step = 0
        if "/" in item:
            item, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad repetition {step_text!r}")
            step = int(step_text)
        if item == "*":
            start, end = 0, high
        elif ".." in item:
            a, b = item.split("..", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"bad range {item!r}")
            start, end = int(a), int(b)
        elif item.isdigit():
            start = int(item)
            end = high if step else start
        else:
            raise ValueError(f"bad value {item!r}")
        if not 0 <= start <= end <= high:
            raise ValueError(f"{item!r} out of range 0..{high}")
        values.update(range(start, end + 1, step or 1))
    return values


def calendar_times(expression: str) -> tuple[set[int], bool]:
    """Seconds of the day at which a systemd OnCalendar expression fires, and whether
    it fires every day. Supports the usual forms (``*-*-* 00/6:00:00``, ``hourly``,
    ``Mon..Fri 03:30``, ``*:0/15``); raises ValueError for the rest."""
    text = expression.strip()
    text = _CALENDAR_SHORTHANDS.get(text.lower(), text)
    parts = text.split()
    every_day = True
    if parts and _WEEKDAY.fullmatch(parts[0]):
        every_day = False
        parts = parts[1:]
    if parts and ":" not in parts[0]:
        date = parts.pop(0)
        if "-" not in date:
            raise ValueError(f"cannot read the date {date!r}")
        if "~" in date or any(c != "*" for c in date.split("-")):
            every_day = False
    time_part = parts.pop(0) if parts else "00:00:00"
    if len(parts) > 1 or (parts and not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z_+-]+)*", parts[0])):
        raise ValueError(f"cannot read {' '.join(parts)!r}")
    fields = time_part.split(":")
    if len(fields) == 2:
        fields.append("00")
    if len(fields) != 3:
        raise ValueError(f"cannot read the time {time_part!r}")
    hours = _calendar_values(fields[0], 23)
    minutes = _calendar_values(fields[1], 59)
    seconds = _calendar_values(fields[2], 59)
    return {h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds}, every_day


def calendar_runs_per_day(expressions: list[str]) -> tuple[int, list[str]]:
    """Runs a day of a list of OnCalendar expressions (their union) and remarks about
    what Speculum cannot keep (fixed times, uneven spacing, not every day)."""
    times: set[int] = set()
    remarks = []
    for expression in expressions:
        found, every_day = calendar_times(expression)
        times |= found
        if not every_day:
            remarks.append(f"{expression!r} does not run every day; Speculum syncs daily at least")
    count = len(times)
    ordered = sorted(times)
    gaps = {(b - a) % 86400 for a, b in zip(ordered, ordered[1:] + ordered[:1], strict=True)} if count > 1 else set()
    if len(gaps) > 1:
        remarks.append("its runs were not evenly spaced; Speculum spaces them evenly")
    return count, remarks


def timespan_seconds(text: str) -> float:
    """A systemd time span ("6h", "30min", "1h 30min", "90") in seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for match in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text.lower()):
        if match.start() != pos or match.group(2) not in _TIMESPAN_UNITS:
            raise ValueError(f"cannot read the time span {text!r}")
        total += float(match.group(1)) * _TIMESPAN_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or total <= 0:
        raise ValueError(f"cannot read the time span {text!r}")
    return total


@dataclass
class _Timer:
    path: Path
    calendars: list[str]
    periodic: str | None
    unit: str | None


def _read_timer(path: Path) -> _Timer:
    calendars: list[str] = []
    periodic = unit = None
    section = ""
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Timer]" or "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key == "OnCalendar":
            if value:
                calendars.append(value)
            else:
                calendars.clear()  # an empty assignment resets the list
        elif key in ("OnUnitActiveSec", "OnUnitInactiveSec"):
            periodic = value or None
        elif key == "Unit":
            unit = value
    return _Timer(path, calendars, periodic, unit)


def _timer_syncs_per_day(pid: str, timer: _Timer, notes: list[str]) -> int:
    name = timer.path.name
    try:
        if timer.calendars:
            count, remarks = calendar_runs_per_day(timer.calendars)
            if timer.periodic:
                remarks.append(f"its OnUnitActiveSec={timer.periodic} is ignored (OnCalendar wins)")
            what = f"timer {name} (OnCalendar {', '.join(timer.calendars)})"
        elif timer.periodic:
            count = 86400 / timespan_seconds(timer.periodic)
            remarks = []
            what = f"timer {name} (every {timer.periodic})"
        else:
            notes.append(f"{pid}: timer {name} has no OnCalendar= or OnUnitActiveSec=; using "
                         f"the default of {DEFAULT_SYNCS_PER_DAY} syncs a day")
            return DEFAULT_SYNCS_PER_DAY
    except ValueError as exc:
        notes.append(f"{pid}: timer {name}: {exc}; using the default of "
                     f"{DEFAULT_SYNCS_PER_DAY} syncs a day")
        return DEFAULT_SYNCS_PER_DAY
    for remark in remarks:
        notes.append(f"{pid}: {what}: {remark}")
    return _syncs_per_day(pid, count, notes, f"{what} runs")


# --- legacy shell scripts -----------------------------------------------------------------------

class _Unparseable(ValueError):
    pass


@dataclass
class _Word:
    text: str
    op: bool = False  # an operator: ; && || | & or a redirection (text holds it)


_REDIRECT = re.compile(r"&>>|&>|>&|>>|>\||>|<&|<")
_ASSIGNMENT = re.compile(r"(?:(?:export|readonly|declare(?:\s+-\w+)*|local)\s+)?"
                         r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_KEYWORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
             "esac", "function", "select", "{", "}", "[[", "]]"}
_HARMLESS = {"set", "exit", "true", ":", "shopt"}


class _Shell:
    """Just enough of POSIX sh to read variable assignments and simple commands.

    Anything beyond that (command substitution, control flow, functions)
    raises _Unparseable so that the line is reported, never guessed at.
    """

    def __init__(self) -> None:
        self.vars: dict[str, str] = {}
        self.unknown: list[str] = []
        self.quoted_values: list[str] = []

    def words(self, line: str, *, assignment: bool = False) -> list[_Word]:
        out: list[_Word] = []
        cur: list[str] | None = None  # characters of the word being built

        def flush():
            nonlocal cur
            if cur is not None:
                out.append(_Word("".join(cur)))
            cur = None

        def add(text: str):
            nonlocal cur
            cur = (cur or []) + [text]

        def add_split(name: str, value: str):
            nonlocal cur
            if assignment:
                add(value)
                return
            if any(q in value for q in _QUOTES):
                try:
                    parts = shlex.split(value)
                except ValueError:
                    parts = value.split()
                if name not in self.quoted_values:
                    self.quoted_values.append(name)
            else:
                parts = value.split()
            if not parts:
                if value and cur is not None:
                    flush()
                return
            if value[:1].isspace():
                flush()
            add(parts[0])
            for part in parts[1:]:
                flush()
                add(part)
            if value[-1:].isspace():
                flush()

        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c in " \t":
                flush()
                i += 1
            elif c == "#" and cur is None:
                break
            elif c == "\\":
                if i + 1 < n:
                    add(line[i + 1])
                i += 2
            elif c == "'":
                end = line.find("'", i + 1)
                if end < 0:
                    raise _Unparseable("unterminated single quote")
                add(line[i + 1:end])
                i = end + 1
            elif c == '"':
                i += 1
                piece: list[str] = []
                while True:
                    if i >= n:
                        raise _Unparseable("unterminated double quote")
                    d = line[i]
                    if d == '"':
                        i += 1
                        break
                    if d == "\\" and i + 1 < n and line[i + 1] in '$`"\\':
                        piece.append(line[i + 1])
                        i += 2
                    elif d == "$":
                        name, value, i = self._expand(line, i)
                        piece.append(value)
                    elif d == "`":
                        raise _Unparseable("command substitution")
                    else:
                        piece.append(d)
                        i += 1
                add("".join(piece))
            elif c == "$":
                name, value, i = self._expand(line, i)
                add_split(name, value)
            elif c == "`":
                raise _Unparseable("command substitution")
            elif c in "()":
                raise _Unparseable("subshells and functions")
            elif c in ";|&<>":
                match = _REDIRECT.match(line, i)
                fd_prefix = ""
                if cur is not None and "".join(cur).isdigit() and c in "<>":
                    fd_prefix, cur = "".join(cur), None  # the fd number of 2>&1
                flush()
                if line.startswith("<<", i):
                    raise _Unparseable("here-documents")
                if match and match.group(0):
                    text = match.group(0)
                    i += len(text)
                    text = fd_prefix + text
                    if text.endswith("&"):  # >&1, >&2
                        fd = re.match(r"\d+|-", line[i:])
                        if fd:
                            i += len(fd.group(0))
                            text += fd.group(0)
                            out.append(_Word(text, op=True))
                            continue
                    out.append(_Word(text, op=True))
                else:
                    text = line[i:i + 2] if line[i:i + 2] in ("&&", "||", ";;") else c
                    if text == ";;":
                        raise _Unparseable("case statements")
                    out.append(_Word(text, op=True))
                    i += len(text)
            else:
                add(c)
                i += 1
        flush()
        return out

    def _expand(self, line: str, i: int) -> tuple[str, str, int]:
        """Expand the $NAME / ${NAME} / ${NAME:-default} at ``line[i]``."""
        if line.startswith("$(", i):
            raise _Unparseable("command substitution")
        if line.startswith("${", i):
            end = line.find("}", i)
            if end < 0:
                raise _Unparseable("unterminated ${")
            inner = line[i + 2:end]
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?", inner)
            if not match:
                raise _Unparseable(f"parameter expansion ${{{inner}}}")
            name, default = match.group(1), match.group(3)
            value = self.vars.get(name)
            if value is None or (value == "" and match.group(2) == ":-"):
                if default is None:
                    self._unknown(name)
                value = default or ""
            return name, value, end + 1
        match = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)").match(line, i)
        if not match:
            if i + 1 >= len(line) or line[i + 1] in " \t\"'":
                return "", "$", i + 1
            raise _Unparseable(f"special parameter ${line[i + 1]}")
        name = match.group(1)
        if name not in self.vars:
            self._unknown(name)
        return name, self.vars.get(name, ""), match.end()

    def _unknown(self, name: str) -> None:
        if name not in self.unknown:
            self.unknown.append(name)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with backslash-newline continuations joined."""
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer:
            start = number
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            buffer += raw[:-1] + " "
            continue
        lines.append((start, buffer + raw))
        buffer = ""
    if buffer:
        lines.append((start, buffer))
    return lines


def _sourced_name(line: str) -> str | None:
    match = re.fullmatch(r"\s*(?:source|\.)\s+(\S+)\s*(?:#.*)?", line)
    return match.group(1).strip("'\"") if match else None


@dataclass
class _Script:
    path: Path
    rsync_lines: list[tuple[int, list[str]]] = field(default_factory=list)


def _is_rsync(word: str, shell: _Shell) -> bool:
    configured = shell.vars.get("RSYNC", "").split()
    return word.rsplit("/", 1)[-1] == "rsync" or (bool(configured) and word == configured[0])


def _run_lines(path: Path, shell: _Shell, where: str, notes: list[str], pid: str,
               scripts_dir: Path, script: _Script, depth: int = 0) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        notes.append(f"{pid}: cannot read {where}: {exc}")
        return
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        shown = f"{where} line {number}"
        sourced = _sourced_name(stripped)
        if sourced:
            target = Path(sourced)
            candidates = [scripts_dir / target.name] if target.is_absolute() else [
                path.parent / target, scripts_dir / target]
            if target.is_absolute():
                candidates.insert(0, target)
            found = next((c for c in candidates if c.is_file()), None)
            if found is None or depth > 4:
                notes.append(f"{pid}: {shown}: cannot find the sourced file {sourced!r}")
            else:
                _run_lines(found, shell, found.name, notes, pid, scripts_dir, script, depth + 1)
            continue
        try:
            assignment = _ASSIGNMENT.fullmatch(stripped)
            if assignment:
                words = shell.words(assignment.group(2), assignment=True)
                if len(words) > 1 or any(w.op for w in words):
                    raise _Unparseable("an assignment followed by more words (VAR=x command?)")
                shell.vars[assignment.group(1)] = words[0].text if words else ""
                continue
            if re.match(r"(export|readonly|local|declare)\s+[A-Za-z_]\w*\s*$", stripped):
                continue
            first = stripped.split()[0]
            if first in _KEYWORDS or first.endswith("()"):
                raise _Unparseable(f"shell control flow ({first})")
            words = shell.words(stripped)
        except _Unparseable as exc:
            notes.append(f"{pid}: {shown} not imported, cannot parse it ({exc}): {stripped}")
            continue
        _command_line(words, shown, stripped, shell, notes, pid, script, number)


def _command_line(words: list[_Word], shown: str, text: str, shell: _Shell, notes: list[str],
                  pid: str, script: _Script, number: int) -> None:
    commands: list[list[_Word]] = [[]]
    separators = []
    for word in words:
        if word.op and word.text in (";", "&&", "||", "|", "&"):
            separators.append(word.text)
            commands.append([])
        else:
            commands[-1].append(word)
    commands = [c for c in commands if c]
    if not commands:
        return
    first = commands[0]
    argv, redirects = [], []
    k = 0
    while k < len(first):
        word = first[k]
        if word.op:
            if re.search(r"&\d|&-$", word.text):
                redirects.append(word.text)
            else:
                target = first[k + 1].text if k + 1 < len(first) else ""
                redirects.append(f"{word.text} {target}".strip())
                k += 1
        else:
            argv.append(word.text)
        k += 1
    if not argv:
        return
    if _is_rsync(argv[0], shell):
        if "|" in separators[:1] or "&" in separators[:1]:
            notes.append(f"{pid}: {shown}: rsync ran in a pipeline or in the background; "
                         "imported as a plain stage")
        script.rsync_lines.append((number, argv[1:]))
        if redirects:
            notes.append(f"{pid}: {shown}: output redirection {' '.join(redirects)} dropped "
                         "(Speculum logs every run)")
        rest = " ; ".join(" ".join(w.text for w in c) for c in commands[1:]
                          if c[0].op or c[0].text not in _HARMLESS)
        if rest:
            notes.append(f"{pid}: {shown}: commands after rsync not imported: {rest}")
        return
    if argv[0] in _HARMLESS and len(commands) == 1:
        return
    if argv[:2] == ["date", "+%s"] and redirects:
        notes.append(f"{pid}: {shown} wrote a local timestamp ({text}); not imported: Speculum "
                     "records each run's time itself (sync.verify reads an upstream marker)")
        return
    notes.append(f"{pid}: {shown} not imported (only rsync commands are): {text}")


def import_scripts(scripts_dir, units_dir=None, *, today: _dt.date | None = None) -> ImportResult:
    """Projects from a directory of legacy per-project sync scripts (and their timers)."""
    result = ImportResult()
    notes = result.notes
    scripts_dir = Path(scripts_dir)
    comment_day = _today(today)
    sourced = set()
    candidates = []
    for path in sorted(p for p in scripts_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for _, line in _logical_lines(text):
            name = _sourced_name(line.strip())
            if name:
                sourced.add(Path(name).name)
        if path.suffix == ".sh" or text.startswith("#!"):
            candidates.append(path)
    scripts = [p for p in candidates if p.name not in sourced]

    notes.append(_SITE_NOTE.format(source="legacy scripts"))
    timers: dict[str, _Timer] = {}
    if units_dir is not None:
        for path in sorted(Path(units_dir).glob("*.timer")):
            timer = _read_timer(path)
            key = path.stem
            if timer.unit and timer.unit.endswith(".service"):
                key = timer.unit[:-len(".service")]
            timers[key] = timer
    else:
        notes.append("legacy scripts: no units directory given; every project gets the "
                     f"default of {DEFAULT_SYNCS_PER_DAY} syncs a day")
    used_timers: set[str] = set()

    for path in scripts:
        stem = path.stem
        pid = _project_id(stem, result.projects)
        if pid != stem:
            notes.append(f"{pid}: renamed from script name {stem!r} (project ids are 1-64 "
                         "characters of a-z, 0-9, '-' and '_')")
        shell = _Shell()
        script = _Script(path)
        _run_lines(path, shell, path.name, notes, pid, scripts_dir, script)
        for name in shell.unknown:
            notes.append(f"{pid}: {path.name}: unknown variable ${{{name}}} (expanded to "
                         "nothing, as the shell would)")
        for name in shell.quoted_values:
            notes.append(f"{pid}: {path.name}: ${{{name}}} holds quote characters and was "
                         "expanded unquoted, so the old script passed them to rsync literally; "
                         "imported with the quotes removed, as evidently intended")
        timer = timers.get(stem)
        if timer is not None:
            used_timers.add(stem)
        record = _script_project(pid, path, script, result,
                                 password_env="RSYNC_PASSWORD" in shell.vars)
        if record is None:
            continue
        sync = record["sync"]
        if timer is not None:
            sync["syncs_per_day"] = _timer_syncs_per_day(pid, timer, notes)
        else:
            sync["syncs_per_day"] = DEFAULT_SYNCS_PER_DAY
            if units_dir is not None:
                notes.append(f"{pid}: no timer {stem}.timer in {units_dir}; using the default "
                             f"of {DEFAULT_SYNCS_PER_DAY} syncs a day")
        record["sync"] = _ordered_sync(sync)
        record["comments"] = [f"Imported from legacy script {path.name} on {comment_day}"]
        result.projects[pid] = _clean(record)

    for key, timer in timers.items():
        if key not in used_timers:
            notes.append(f"{timer.path.stem}: timer {timer.path.name} has no script "
                         f"{key}.sh in {scripts_dir}; not imported")
    if result.projects:
        notes.append("legacy scripts: names and categories of the imported projects are "
                     "placeholders (the script names, category Software); edit them")
    return result


def _ordered_sync(sync: dict) -> dict:
    order = ("method", "upstream", "stages", "syncs_per_day", "user", "password_secret")
    return {k: sync.get(k) for k in order if k in sync}


def _script_project(pid: str, path: Path, script: _Script, result: ImportResult, *,
                    password_env: bool) -> dict | None:
    notes = result.notes
    if not script.rsync_lines:
        notes.append(f"{pid}: {path.name} has no rsync command the importer can read; "
                     "not imported (port it by hand, e.g. as a script project)")
        return None
    stages: list[list[str]] = []
    upstream = dest = user = password_file = None
    deleting: list[int] = []
    for number, argv in script.rsync_lines:
        where = f"{path.name} line {number}"
        opts = _translate(argv)
        if len(opts.positional) != 2:
            notes.append(f"{pid}: {where}: expected one source and one destination, got "
                         f"{opts.positional}; line not imported")
            continue
        source, target = opts.positional
        line_user = None
        match = re.fullmatch(r"(?:rsync://)?([^@/:\s]+)@(.*)", source)
        if match:
            line_user = match.group(1)
            source = ("rsync://" if source.startswith("rsync://") else "") + match.group(2)
        try:
            parsed = parse_upstream(source)
        except ValueError as exc:
            notes.append(f"{pid}: {where}: {exc}; line not imported")
            continue
        port = opts.port or parsed.port
        url = parsed.url if port == parsed.port else parsed.url.replace(
            f"rsync://{parsed.host}/", f"rsync://{parsed.host}:{port}/", 1)
        if upstream is None:
            upstream, dest, user = url, target, line_user
        elif url != upstream or target.rstrip("/") != (dest or "").rstrip("/"):
            notes.append(f"{pid}: {where}: syncs {url} to {target}, not {upstream} to {dest} "
                         "like the first rsync line; line not imported")
            continue
        notes.extend(_option_notes(pid, where, opts))
        if opts.password_file:
            password_file = opts.password_file
        if opts.deletes:
            deleting.append(len(stages))
        if not opts.recursive:
            notes.append(f"{pid}: {where} was not recursive; Speculum stages always recurse "
                         "(site default -r), its filters bound what it fetches")
        stages.append(opts.kept)
    if upstream is None:
        notes.append(f"{pid}: {path.name}: no usable rsync line; not imported")
        return None
    if not deleting:
        notes.append(f"{pid}: the script never deleted files (no --delete); Speculum's last "
                     "stage deletes what the upstream removed (at most max_delete a run): "
                     "check that this tree is not meant to keep old files")
    elif deleting[-1] < len(stages) - 1:
        for n in range(deleting[-1] + 1, len(stages)):
            notes.append(f"{pid}: rsync stage {n + 1} {stages[n]} ran after the deleting one "
                         "and is not imported: Speculum deletes in the last stage only")
        stages = stages[:deleting[-1] + 1]
    if dest and Path(dest.rstrip("/")).name != pid:
        notes.append(f"{pid}: the script kept the tree in {dest!r}; Speculum serves it as "
                     f"/{pid}/ from its own mirror root (public URLs may change)")
    sync: dict[str, Any] = {"method": "rsync", "upstream": upstream,
                            "stages": _stages_record(stages)}
    if user:
        sync["user"] = user
    if password_file or password_env:
        if user:
            secret = pid.replace("-", "_") + "_rsync_password"
            sync["password_secret"] = secret
            if secret not in result.secrets:
                result.secrets.append(secret)
            notes.append(f"{pid}: add the rsync password (the script's "
                         f"{password_file or 'RSYNC_PASSWORD'}) to the vault as "
                         f"speculum_secrets.{secret}")
        else:
            notes.append(f"{pid}: the script used a password ({password_file or 'RSYNC_PASSWORD'})"
                         " but no rsync user; set sync.user and sync.password_secret by hand")
    return {"name": path.stem, "enabled": True, "sync": sync}


__all__ = ["ImportResult", "import_cosi", "import_scripts", "calendar_times",
           "calendar_runs_per_day", "timespan_seconds", "nearest_syncs_per_day"]
