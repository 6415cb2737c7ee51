"""News posts: Markdown files ``news/YYYY-MM-DD-slug.md`` with a small header.

A post starts with ``Key: value`` lines (Title required; Author, Date
``YYYY-MM-DD[ HH:MM]`` in UTC and Summary optional), then a blank line, then
the Markdown body. Posts are written by the repository's committers, so raw
HTML in the body is trusted and kept.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import markdown

HEADERS = ("Title", "Author", "Date", "Summary")
SUMMARY_LIMIT = 200
# Only extensions Debian 12's python3-markdown (3.4) has; "extra" brings
# tables, fenced code, footnotes, attribute lists and definition lists.
EXTENSIONS = ("extra", "toc")

_FILE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-[a-z0-9]+(?:-[a-z0-9]+)*")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?")
_HEADER = re.compile(r"([A-Za-z][A-Za-z-]*)\s*:\s*(.*)")


@dataclass(frozen=True)
class Post:
    slug: str       # the file stem: 2026-11-20-welcome
    title: str
    author: str     # "" when the post names none
    date: datetime  # aware, UTC
    html: str       # the rendered body
    summary: str    # plain text, at most SUMMARY_LIMIT characters
    source: str     # the Markdown body
    path: str       # URL path of the post's page: /news/<slug>/


def load_posts(directory: str | os.PathLike) -> list[Post]:
    """Every post of ``directory``, newest first; one ValueError listing every bad file."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    posts, errors = [], []
    for file in sorted(directory.iterdir()):
        if file.name.startswith(".") or file.suffix != ".md" or not file.is_file():
            continue
        try:
            posts.append(parse(file))
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ValueError("\n".join(errors))
    # newest first; among posts of the same moment, by slug
    posts.sort(key=lambda p: p.slug)
    posts.sort(key=lambda p: p.date, reverse=True)
    return posts


def parse(file: Path) -> Post:
    """One post file; ValueError names the file and the field."""
    def fail(field: str, why: str) -> ValueError:
        return ValueError(f"news post {file}: {field}: {why}")

    name = _FILE_NAME.fullmatch(file.stem)
    if not name:
        raise fail("file name", "must be YYYY-MM-DD-slug.md, the slug in lowercase letters, "
                   "digits and hyphens")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise fail("encoding", f"not UTF-8 (byte {exc.object[exc.start]:#04x} on line {line})") from None
    try:
        date = _date(name[1])
    except ValueError:
        raise fail("file name", f"{name[1]!r} is not a date") from None
    headers, body = _split(text, fail)
    if not headers.get("Title"):
        raise fail("header 'Title'", "required")
    if headers.get("Date"):
        try:
            date = _date(headers["Date"])
        except ValueError:
            raise fail("header 'Date'", "expected YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC), got "
                       f"{headers['Date']!r}") from None
    if not body.strip():
        raise fail("body", "empty: write the post after the header and a blank line")
    html = markdown.markdown(body, extensions=list(EXTENSIONS), output_format="html")
    summary = headers.get("Summary") or _first_paragraph(html)
    return Post(slug=file.stem, title=headers["Title"], author=headers.get("Author", ""), date=date,
                html=html, summary=shorten(summary), source=body, path=f"/news/{file.stem}/")


def _split(text: str, fail) -> tuple[dict[str, str], str]:
    """The header (up to the first blank line) and the body."""
    lines = text.splitlines()
    headers: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            return headers, "\n".join(lines[number:]).strip("\n") + "\n"
        match = _HEADER.fullmatch(line.strip())
        if not match:
            raise fail(f"line {number}", f"expected a 'Key: value' header or a blank line, got {line!r}")
        key = match[1].capitalize()
        if key not in HEADERS:
            raise fail(f"header '{match[1]}'", f"unknown (known: {', '.join(HEADERS)})")
        if key in headers:
            raise fail(f"header '{key}'", "given twice")
        headers[key] = match[2].strip()
    return headers, ""


def _date(value: str) -> datetime:
    match = _DATE.fullmatch(value)
    if not match:
        raise ValueError(value)
    year, month, day, hour, minute = (int(part or 0) for part in match.groups())
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class _Text(HTMLParser):
    """The text of the first <p> (or of the whole document if it has none)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.first: list[str] = []
        self.all: list[str] = []
        self.depth = 0  # inside the first <p> while > 0
        self.done = False

    def handle_starttag(self, tag, attrs):
        if tag == "p" and not self.done:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "p" and self.depth:
            self.depth -= 1
            self.done = not self.depth

    def handle_data(self, data):
        self.all.append(data)
        if self.depth:
            self.first.append(data)


def _first_paragraph(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.first or parser.all)


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Whitespace collapsed, cut at a word boundary with "…" if longer than ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    if text[limit - 1] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—") + "…"


def find(posts: list[Post], wanted: str) -> Post:
    """The post with slug ``wanted``, or whose slug without the date is ``wanted``."""
    matches = [p for p in posts if wanted in (p.slug, p.slug[11:])]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.slug for p in (matches or posts)) or "none"
    what = "ambiguous" if matches else "unknown"
    raise LookupError(f"{what} news post {wanted!r} (posts: {known})")


def base_url(site: dict) -> str:
    """The site's public address, ending in "/": HTTPS when it has it."""
    return site.get("https_url") or site["http_url"]


def absolute_links(html: str, base: str) -> str:
    """Site-relative links (/status/) made absolute, for readers off the site (feeds, mail)."""
    return re.sub(r'(\s(?:href|src)=")/(?!/)', lambda m: m[1] + base, html)
