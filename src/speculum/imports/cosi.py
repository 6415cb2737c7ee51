"""``import_cosi``: projects from the ``mirrors.json`` of COSI's mirror (Clarkson Open
Source Institute, github.com/COSI-Lab/Mirror): one record per project with an ``rsync``,
``script`` or ``static`` block."""

from __future__ import annotations

import datetime as _dt
import re
import shlex
from typing import Any

from ..rsync import parse_upstream
from .common import (
    _SITE_NOTE,
    ImportResult,
    _clean,
    _marker_format,
    _option_notes,
    _Options,
    _project_id,
    _stages_record,
    _syncs_per_day,
    _today,
    _translate,
)

_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


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
