"""Export the project list (and sync status) in formats other tools read.

``export(projects, fmt, site=..., statuses=..., include_disabled=False)`` turns
the normalised project database (``config.settle(db)[1]``) into text. Standard
library only: it runs on the mirror host too.

Common rules
------------
* Only enabled projects, unless ``include_disabled``; always ordered by id.
* ``site`` holds ``name``, ``hostname``, ``http_url`` (base URL ending in
  ``/``), optional ``https_url`` and ``rsync_url`` (``rsync://host/``),
  ``operator`` and ``contact`` (e-mail). ``site_from_vars`` builds it from the
  ``speculum_site_*`` Ansible variables.
* A project is served at ``<base>/<id>/`` (the nginx role's locations) and, if
  ``public_rsync``, as the rsync module ``<rsync_url><id>/``. Its canonical
  URL uses ``https_url`` when configured, else ``http_url``.
* A password-protected upstream is published as its host only
  (``public_upstream``), in every format.
* ``statuses`` maps a project id to its status record (speculum.status); a
  project without one has status ``none``. A disabled project always has the
  status ``disabled`` (the tunasync word for a job that is switched off).

Formats
-------
``json``
    A list of the normalised records, each with ``url`` added. Fields that are
    not for publication are left out: ``comments`` (the admin log, "not
    published" in the schema) and ``sync.user``, ``sync.password_secret`` and
    ``sync.env`` (credentials and script environment).

``mirmon``
    A mirror list for mirmon in its default ``list_style plain``: one line
    ``type url contact`` per mirror, where ``type`` is the mirror's country
    code. This is what MirrorBrain's ``mb export --format mirmon`` writes
    (poeml/mirrorbrain, mb/mb.py ``do_export`` and mb/mb/exports.py: one line
    "country, url, admin e-mail" for each of an enabled mirror's http, ftp and
    rsync base URLs). A mirror host is not a mirror network, so here each
    *project* is the "mirror": one line per project and protocol we serve it
    over (http; https if ``https_url`` is set; rsync if the project has
    ``public_rsync`` and the site an ``rsync_url``), every line with the site
    contact. The country code is ``site["country"]`` if given, else the
    host name's top-level domain when it is a two-letter country code, else
    ``zz`` (unknown). As in MirrorBrain, disabled projects are never listed
    (not even with ``include_disabled``): they are not served, a probe could
    only fail. Note that one mirmon configuration probes one timestamp file,
    so a mirmon instance normally monitors one project: pass it the projects
    whose trees carry that file.

``mirrorz``
    ``mirrorz.json`` version 1.7 as the mirrorz-org/mirrorz README documents
    it: ``site`` (``url`` without the trailing slash and ``abbr`` are the
    mandatory keys; ``name``, ``homepage``, ``email``, ``note`` and
    ``disable`` follow, plus ``logo``, ``logo_darkmode``, ``issue``,
    ``request``, ``group``, ``disk`` and ``big`` when ``site`` has them),
    ``info`` (the category view of ISO links: empty, we keep no such list) and
    ``mirrors`` with ``cname`` (the project id, as the README's reference
    tunasync generator uses the job name), ``desc``, ``url`` (``/<id>``,
    relative to site.url, no trailing slash), ``status``, ``help`` (empty),
    ``upstream``, ``size`` and ``disable`` (true for a disabled project).
    ``abbr`` is ``site["abbr"]`` if given, else the first label of the host
    name that is not generic (mirror, mirrors, ftp, www, ...), upper-cased.

    The status string is a main status letter with an optional Unix time,
    followed by auxiliary ones (the README's encoding):

    ===================  ==============================================
    our status           mirrorz status
    ===================  ==============================================
    success              ``S<last_update_ts>``
    syncing              ``Y<last_started_ts>`` + ``O<last_update_ts>``
    pre-syncing          ``D`` (pending; we keep no time it became so)
    failed               ``F<last_ended_ts>`` + ``O<last_update_ts>``
    paused, disabled     ``P<last_ended_ts>``
    none, no record      ``U``
    ===================  ==============================================

    A time that is 0 (never happened) is left out, ``O`` too. Unless the
    project is paused or disabled, ``X<next_schedule_ts>`` (next scheduled
    sync) is appended when known. ``N`` (new mirror) is never set.

``tunasync``
    A JSON list shaped like tunasync's ``/jobs`` answer (its worker status,
    internal/status_web.go ``WebMirrorStatus``): exactly the fields of
    ``TUNASYNC_FIELDS`` plus the documented extra ``size_bytes`` (the exact
    size, null when unknown). Times are ``YYYY-mm-dd HH:MM:SS +0000`` strings
    with ``*_ts`` Unix seconds; a time that never happened is ``""`` and 0. A
    project without a status record has status ``none``, zero times and size
    ``unknown``; ``upstream`` always comes from the database.

``csv``
    A header and one row per project: ``CSV_COLUMNS``. Booleans are
    ``true``/``false``; ``status`` is the status word, ``last_update`` the
    readable time of the last successful sync (empty if none). The csv
    module's default (RFC 4180) dialect: CRLF line ends.

``markdown``
    A level-2 heading and a table per category (categories sorted by name,
    projects by id): the project name linked to its URL, description,
    upstream host, syncs per day (``static`` for projects that never sync)
    and the status when one is known (with the last successful sync). Table
    text escapes ``\\`` and ``|``, and ``[``/``]`` in link text.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import status as status_mod

FORMATS = ("json", "mirmon", "mirrorz", "tunasync", "csv", "markdown")

MIRRORZ_VERSION = 1.7

TUNASYNC_FIELDS = (
    "name", "is_master", "status",
    "last_update", "last_update_ts",
    "last_started", "last_started_ts",
    "last_ended", "last_ended_ts",
    "next_schedule", "next_schedule_ts",
    "upstream", "size",
)
TUNASYNC_EXTRAS = ("size_bytes",)

CSV_COLUMNS = ("id", "name", "category", "official", "enabled", "method", "upstream",
               "syncs_per_day", "url", "status", "last_update")

PRIVATE_FIELDS = ("comments",)
PRIVATE_SYNC_FIELDS = ("user", "password_secret", "env")

# optional mirrorz site keys copied from ``site`` when present
_MIRRORZ_SITE_OPTIONAL = ("logo", "logo_darkmode", "issue", "request", "group", "disk", "big")
_GENERIC_HOST_LABELS = {"mirror", "mirrors", "ftp", "www", "download", "downloads", "dl", "repo"}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # tunasync's text time (status.stamp writes the same)


def export(projects: dict, fmt: str, *, site: dict, statuses: dict | None = None,
           include_disabled: bool = False) -> str:
    """The projects in format ``fmt`` (one of FORMATS) as text."""
    try:
        writer = _WRITERS[fmt]
    except (KeyError, TypeError):
        raise ValueError(f"unknown export format {fmt!r}; known formats: "
                         f"{', '.join(FORMATS)}") from None
    site = _check_site(site)
    chosen = [_public({**projects[pid], "id": pid}) for pid in sorted(projects)
              if include_disabled or projects[pid].get("enabled")]
    return writer(chosen, site, statuses or {})


def public_upstream(sync: dict) -> str:
    """The upstream as the public may see it: only the host of a password-protected
    module (its path is the door the password opens)."""
    upstream = sync.get("upstream") or ""
    if upstream and (sync.get("user") or sync.get("password_secret")):
        return sync.get("upstream_host") or ""
    return upstream


def _public(project: dict) -> dict:
    sync = project.get("sync") or {}
    if (sync.get("upstream") or "") == public_upstream(sync):
        return project
    return {**project, "sync": {**sync, "upstream": public_upstream(sync)}}


def site_from_vars(variables: dict) -> dict:
    """The ``site`` argument from the ``speculum_site_*`` Ansible variables."""
    out = {}
    for key in ("name", "hostname", "http_url", "https_url", "rsync_url", "operator",
                "contact", "country", "abbr"):
        value = variables.get(f"speculum_site_{key}")
        if value is not None:
            out[key] = value
    return out


# --- shared helpers -------------------------------------------------------------------

def _check_site(site: Any) -> dict:
    if not isinstance(site, dict):
        raise ValueError(f"site must be a mapping of site settings, got {type(site).__name__}")
    site = dict(site)
    http_url = site.get("http_url")
    if not isinstance(http_url, str) or not http_url.startswith(("http://", "https://")):
        raise ValueError(f"site http_url must be an http:// or https:// URL, got {http_url!r}")
    for key, schemes in (("http_url", ("http://", "https://")), ("https_url", ("https://",)),
                         ("rsync_url", ("rsync://",))):
        value = site.get(key)
        if not value:
            site[key] = ""
            continue
        if not isinstance(value, str) or not value.startswith(schemes):
            raise ValueError(f"site {key} must start with {' or '.join(schemes)}, got {value!r}")
        site[key] = value if value.endswith("/") else value + "/"
    for key in ("name", "hostname", "operator", "contact"):
        site[key] = str(site.get(key) or "")
    return site


def _base_url(site: dict) -> str:
    """The canonical base URL (https when configured), ending in /."""
    return site["https_url"] or site["http_url"]


def project_url(site: dict, pid: str) -> str:
    return _base_url(_check_site(site)) + pid + "/"


def _url(site: dict, pid: str) -> str:
    return _base_url(site) + pid + "/"


def _record(project: dict, statuses: dict) -> dict | None:
    record = statuses.get(project["id"])
    return record if isinstance(record, dict) else None


def _status_word(project: dict, record: dict | None) -> str:
    if not project.get("enabled"):
        return status_mod.DISABLED
    if record is None:
        return status_mod.NONE
    return str(record.get("status") or status_mod.NONE)


def _ts(record: dict | None, key: str) -> int:
    if record is None:
        return 0
    value = record.get(f"{key}_ts")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return 0
    return int(value)


def _text_time(record: dict | None, key: str) -> str:
    """The readable time of ``key``; rebuilt from ``key_ts`` if the record lacks it."""
    ts = _ts(record, key)
    if not ts:
        return ""
    text = record.get(key) if record else None
    if isinstance(text, str) and text:
        return text
    return datetime.fromtimestamp(ts, UTC).strftime(_TIME_FORMAT)


def _size(record: dict | None) -> str:
    size = record.get("size") if record else None
    return size if isinstance(size, str) and size else "unknown"


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --- json -----------------------------------------------------------------------------

def _public_record(project: dict) -> dict:
    record = copy.deepcopy(project)
    for key in PRIVATE_FIELDS:
        record.pop(key, None)
    if isinstance(record.get("sync"), dict):
        for key in PRIVATE_SYNC_FIELDS:
            record["sync"].pop(key, None)
    return record


def _write_json(projects: list[dict], site: dict, statuses: dict) -> str:
    return _json([_public_record(p) | {"url": _url(site, p["id"])} for p in projects])


# --- mirmon ---------------------------------------------------------------------------

def _mirmon_type(site: dict) -> str:
    country = site.get("country")
    if isinstance(country, str) and country.strip():
        return country.strip().lower()
    tld = site["hostname"].rstrip(".").rsplit(".", 1)[-1]
    if len(tld) == 2 and tld.isalpha() and "." in site["hostname"]:
        return tld.lower()
    return "zz"


def mirmon_urls(project: dict, site: dict) -> list[str]:
    """The URLs a project is served at, in the order http, https, rsync."""
    site = _check_site(site)
    pid = project["id"]
    urls = [site["http_url"] + pid + "/"]
    if site["https_url"] and site["https_url"] != site["http_url"]:
        urls.append(site["https_url"] + pid + "/")
    if project.get("public_rsync", True) and site["rsync_url"]:
        urls.append(site["rsync_url"] + pid + "/")
    return urls


def _write_mirmon(projects: list[dict], site: dict, statuses: dict) -> str:
    kind = _mirmon_type(site)
    contact = site["contact"] or "-"
    lines = [f"{kind} {url} {contact}"
             for project in projects if project.get("enabled")
             for url in mirmon_urls(project, site)]
    return "".join(line + "\n" for line in lines)


# --- mirrorz --------------------------------------------------------------------------

def mirrorz_status(project: dict, record: dict | None) -> str:
    """The mirrorz v1.7 status string of a project (see the module docstring)."""
    word = _status_word(project, record)
    last_update = _ts(record, "last_update")
    old = f"O{last_update}" if last_update else ""

    def at(letter: str, key: str) -> str:
        ts = _ts(record, key)
        return f"{letter}{ts}" if ts else letter

    if word == status_mod.SUCCESS:
        text = at("S", "last_update")
    elif word == status_mod.SYNCING:
        text = at("Y", "last_started") + old
    elif word == status_mod.PRE_SYNCING:
        text = "D"
    elif word == status_mod.FAILED:
        text = at("F", "last_ended") + old
    elif word in (status_mod.DISABLED, "paused"):
        return at("P", "last_ended")
    else:
        text = "U"
    next_run = _ts(record, "next_schedule")
    if next_run:
        text += f"X{next_run}"
    return text


def _mirrorz_abbr(site: dict) -> str:
    abbr = site.get("abbr")
    if isinstance(abbr, str) and abbr.strip():
        return abbr.strip()
    labels = [label for label in site["hostname"].split(".") if label]
    for label in labels[:-1] or labels:
        if label.lower() not in _GENERIC_HOST_LABELS:
            return label.upper()
    return (site["name"] or site["hostname"] or "MIRROR").replace(" ", "").upper()


def _write_mirrorz(projects: list[dict], site: dict, statuses: dict) -> str:
    base = _base_url(site).rstrip("/")
    out_site: dict[str, Any] = {"url": base, "abbr": _mirrorz_abbr(site)}
    out_site["name"] = site["name"] or site["hostname"] or base
    out_site["homepage"] = site.get("homepage") or base + "/"
    if site["contact"]:
        out_site["email"] = site["contact"]
    note = site.get("note") or (f"Operated by {site['operator']}" if site["operator"] else "")
    if note:
        out_site["note"] = note
    for key in _MIRRORZ_SITE_OPTIONAL:
        if site.get(key):
            out_site[key] = site[key]
    out_site["disable"] = False
    mirrors = []
    for project in projects:
        record = _record(project, statuses)
        size = _size(record)
        mirrors.append({
            "cname": project["id"],
            "desc": project.get("description") or "",
            "url": "/" + project["id"],
            "status": mirrorz_status(project, record),
            "help": "",
            "upstream": project["sync"].get("upstream") or "",
            "size": "" if size == "unknown" else size,
            "disable": not project.get("enabled"),
        })
    return _json({"version": MIRRORZ_VERSION, "site": out_site, "info": [], "mirrors": mirrors})


# --- tunasync -------------------------------------------------------------------------

def tunasync_record(project: dict, record: dict | None) -> dict[str, Any]:
    """One tunasync ``/jobs`` record (TUNASYNC_FIELDS + TUNASYNC_EXTRAS)."""
    out: dict[str, Any] = {
        "name": project["id"],
        "is_master": bool(record.get("is_master", True)) if record else True,
        "status": _status_word(project, record),
    }
    for key in ("last_update", "last_started", "last_ended", "next_schedule"):
        out[key] = _text_time(record, key)
        out[f"{key}_ts"] = _ts(record, key)
    out["upstream"] = project["sync"].get("upstream") or ""
    out["size"] = _size(record)
    size_bytes = record.get("size_bytes") if record else None
    out["size_bytes"] = size_bytes if isinstance(size_bytes, int) and not isinstance(
        size_bytes, bool) else None
    return out


def _write_tunasync(projects: list[dict], site: dict, statuses: dict) -> str:
    return _json([tunasync_record(p, _record(p, statuses)) for p in projects])


# --- csv ------------------------------------------------------------------------------

def _write_csv(projects: list[dict], site: dict, statuses: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for project in projects:
        record = _record(project, statuses)
        sync = project["sync"]
        writer.writerow([
            project["id"], project["name"], project.get("category") or "",
            _bool(project.get("official")), _bool(project.get("enabled")),
            sync["method"], sync.get("upstream") or "", sync.get("syncs_per_day") or 0,
            _url(site, project["id"]), _status_word(project, record),
            _text_time(record, "last_update"),
        ])
    return buffer.getvalue()


# --- markdown -------------------------------------------------------------------------

def markdown_escape(text: Any) -> str:
    """Text safe inside a Markdown table cell: one line, ``\\`` and ``|`` escaped."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _link_text(text: Any) -> str:
    return markdown_escape(text).replace("[", "\\[").replace("]", "\\]")


def _markdown_status(project: dict, record: dict | None) -> str:
    word = _status_word(project, record)
    if word == status_mod.NONE:
        return ""
    last = _text_time(record, "last_update")
    if not last:
        return word
    return f"{word}, {last}" if word == status_mod.SUCCESS else f"{word}, last success {last}"


def _write_markdown(projects: list[dict], site: dict, statuses: dict) -> str:
    lines = [f"# {markdown_escape(site['name'] or site['hostname'] or 'Mirror')}: projects", ""]
    by_category: dict[str, list[dict]] = {}
    for project in projects:
        by_category.setdefault(project.get("category") or "Software", []).append(project)
    for category in sorted(by_category):
        lines += [f"## {markdown_escape(category)}", "",
                  "| Project | Description | Upstream | Syncs per day | Status |",
                  "|---|---|---|---|---|"]
        for project in by_category[category]:
            sync = project["sync"]
            static = sync["method"] == "static"
            per_day = "static" if static else str(sync.get("syncs_per_day") or 0)
            cells = (
                f"[{_link_text(project['name'])}]({_url(site, project['id'])})",
                markdown_escape(project.get("description") or ""),
                markdown_escape(sync.get("upstream_host") or ""),
                per_day,
                markdown_escape(_markdown_status(project, _record(project, statuses))),
            )
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


_WRITERS: dict[str, Callable[[list[dict], dict, dict], str]] = {
    "json": _write_json,
    "mirmon": _write_mirmon,
    "mirrorz": _write_mirrorz,
    "tunasync": _write_tunasync,
    "csv": _write_csv,
    "markdown": _write_markdown,
}

__all__ = ["FORMATS", "export", "site_from_vars", "project_url", "mirmon_urls",
           "mirrorz_status", "tunasync_record", "markdown_escape", "TUNASYNC_FIELDS",
           "TUNASYNC_EXTRAS", "CSV_COLUMNS", "MIRRORZ_VERSION"]
