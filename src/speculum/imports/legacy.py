"""``import_scripts``: projects from a directory of legacy per-project shell scripts
(``source globalvars`` header, ``mirror=``/``data=``/``data_location=``/``options=``
variables and one or more ``${RSYNC} ...`` lines), with their systemd ``.timer`` files
for the schedule (read by ``timers.py``)."""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rsync import parse_upstream
from .common import (
    _QUOTES,
    _SITE_NOTE,
    DEFAULT_SYNCS_PER_DAY,
    ImportResult,
    _clean,
    _option_notes,
    _project_id,
    _stages_record,
    _today,
    _translate,
)
from .timers import _read_timer, _Timer, _timer_syncs_per_day

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
