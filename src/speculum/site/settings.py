"""Public site settings (/etc/speculum/site.json), written by the site role from
the ``speculum_site_*`` variables and read by the generator and ``mirrorctl news``.

``validate(raw)`` returns the settings with defaults filled in, or raises
ValueError listing every problem, each naming the setting.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..fsutil import read_json

DEFAULT_PATH = "/etc/speculum/site.json"
# which news posts went to the list (mail.py), on the host
SENT_RECORD = "/var/lib/speculum/news-sent.json"

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")

# name: (default, checker description, checker); None default = required
_MAILING_LIST_FIELDS: dict[str, Any] = {
    "address": "",            # the announcement list; empty = no list
    "subscribe_url": "",      # web form, if the list has one
    "subscribe_address": "",  # e.g. list-subscribe@…, if subscribing is by mail
    "archive_url": "",
    "from_address": "",       # sender of announcements (default: contact)
    "smtp_host": "localhost",
    "smtp_port": 25,
    "smtp_starttls": False,
    "smtp_user": "",
    "smtp_password_file": "",  # root-only file on the host holding the password
}

FIELDS: dict[str, Any] = {
    "name": None,
    "description": "",
    "operator": "",
    "contact": None,
    "hostname": None,
    "http_url": None,
    "https_url": "",
    "rsync_url": "",
    "country": "",
    "abbr": "",
    "about": "",              # Markdown, shown on the about page
    "links": [],              # [{name, url}] in the page footer
    "mailing_list": _MAILING_LIST_FIELDS,
    "webroot": "/var/www/speculum",
    "news_dir": "/etc/speculum/news",
    "stats_file": "/var/lib/speculum/stats/export.json",  # `mirrorctl stats export`; absent = no stats yet
}


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    path = Path(path or os.environ.get("SPECULUM_SITE") or DEFAULT_PATH)
    try:
        raw = read_json(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: the site role writes it (or point "
                                "SPECULUM_SITE at a site settings file)") from None
    try:
        return validate(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def validate(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"site settings must be a mapping, got {type(raw).__name__}")
    errors: list[str] = []
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        errors.append(f"unknown site setting(s): {', '.join(unknown)} "
                      f"(known: {', '.join(sorted(FIELDS))})")
    out: dict[str, Any] = {}
    for name, default in FIELDS.items():
        value = raw.get(name)
        if value is None:
            if default is None:
                errors.append(f"site setting '{name}': required")
                continue
            value = default
        out[name] = value
    if errors:
        raise ValueError("\n".join(errors))

    def bad(name: str, why: str) -> None:
        errors.append(f"site setting '{name}': {why}, got {out_value(name)!r}")

    def out_value(name: str) -> Any:
        node: Any = out
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    for name in ("name", "description", "operator", "country", "abbr", "about", "webroot",
                 "news_dir", "stats_file"):
        if not isinstance(out[name], str):
            bad(name, "must be text")
    if not isinstance(out["name"], str) or not out["name"].strip():
        bad("name", "must not be empty")
    if not isinstance(out["contact"], str) or not _EMAIL.fullmatch(out["contact"]):
        bad("contact", "must be an e-mail address")
    if not isinstance(out["hostname"], str) or not _HOST.fullmatch(out["hostname"]):
        bad("hostname", "must be a host name")
    for name, schemes, required in (("http_url", ("http://", "https://"), True),
                                    ("https_url", ("https://",), False),
                                    ("rsync_url", ("rsync://",), False)):
        value = out[name]
        if not isinstance(value, str) or (value or required) and not value.startswith(schemes):
            bad(name, f"must be a URL starting with {' or '.join(schemes)}"
                + ("" if required else " (or empty)"))
        elif value and not value.endswith("/"):
            out[name] = value + "/"
    for name in ("webroot", "news_dir", "stats_file"):
        if isinstance(out[name], str) and not out[name].startswith("/"):
            bad(name, "must be an absolute path")
    if isinstance(out["country"], str) and out["country"] and not re.fullmatch(r"[A-Za-z]{2}", out["country"]):
        bad("country", "must be a two-letter country code")
    out["links"] = _links(out["links"], errors)
    out["mailing_list"] = _mailing_list(out["mailing_list"], errors)
    if errors:
        raise ValueError("\n".join(errors))
    return out


def _links(links: Any, errors: list[str]) -> list[dict[str, str]]:
    if not isinstance(links, list):
        errors.append(f"site setting 'links': must be a list of {{name, url}}, got {links!r}")
        return []
    for i, link in enumerate(links):
        if not (isinstance(link, dict) and set(link) == {"name", "url"}
                and all(isinstance(v, str) and v for v in link.values())):
            errors.append(f"site setting 'links[{i}]': must be a mapping with name and url, got {link!r}")
    return links


def _mailing_list(raw: Any, errors: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.append(f"site setting 'mailing_list': must be a mapping, got {raw!r}")
        return dict(_MAILING_LIST_FIELDS)
    unknown = sorted(set(raw) - set(_MAILING_LIST_FIELDS))
    if unknown:
        errors.append(f"unknown site setting(s) mailing_list.{', mailing_list.'.join(unknown)} "
                      f"(known: {', '.join(sorted(_MAILING_LIST_FIELDS))})")
    out = {**_MAILING_LIST_FIELDS, **{k: v for k, v in raw.items() if v is not None}}
    for name in ("address", "subscribe_address", "from_address"):
        value = out[name]
        if not isinstance(value, str) or value and not _EMAIL.fullmatch(value):
            errors.append(f"site setting 'mailing_list.{name}': must be an e-mail address "
                          f"(or empty), got {value!r}")
    for name in ("subscribe_url", "archive_url"):
        value = out[name]
        if not isinstance(value, str) or value and not value.startswith(("http://", "https://")):
            errors.append(f"site setting 'mailing_list.{name}': must be an http(s) URL "
                          f"(or empty), got {value!r}")
    for name in ("smtp_host", "smtp_user", "smtp_password_file"):
        if not isinstance(out[name], str):
            errors.append(f"site setting 'mailing_list.{name}': must be text, got {out[name]!r}")
    port = out["smtp_port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        errors.append(f"site setting 'mailing_list.smtp_port': must be a port number, got {port!r}")
    if not isinstance(out["smtp_starttls"], bool):
        errors.append(f"site setting 'mailing_list.smtp_starttls': must be true or false, "
                      f"got {out['smtp_starttls']!r}")
    return out
