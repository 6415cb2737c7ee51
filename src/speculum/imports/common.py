"""What both importers share: ``ImportResult``, the rsync option translation, and the
helpers that normalise ids, round syncs_per_day, guess marker formats, clean records
and stamp dates.

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

"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..rsync import DEFAULT_OPTIONS, FORBIDDEN_STAGE_OPTIONS
from ..schema import MAX_SYNCS_PER_DAY, MINUTES_PER_DAY, PROJECT_ID

VALID_SYNCS_PER_DAY = tuple(d for d in range(1, MAX_SYNCS_PER_DAY + 1) if MINUTES_PER_DAY % d == 0)
DEFAULT_SYNCS_PER_DAY = 4
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
