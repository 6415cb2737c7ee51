"""The news feed, news/atom.xml: Atom 1.0 (RFC 4287).

Built with ElementTree, which escapes every piece of post text. Entry ids are
tag: URIs (RFC 4151) of the host name and the post's file name, so they stay
the same when the site moves from http to https or a post's Date is edited.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from .. import __version__
from .news import Post, absolute_links, base_url

ATOM = "http://www.w3.org/2005/Atom"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
PATH = "news/atom.xml"


def render_feed(posts: list[Post], site: dict, now: datetime) -> bytes:
    """The feed document; the same inputs give the same bytes."""
    base = base_url(site)
    # xmlns as a plain attribute keeps ElementTree's global prefix map untouched
    feed = ET.Element("feed", {"xmlns": ATOM, XML_BASE: base})
    _text(feed, "id", base + PATH)
    _text(feed, "title", f"{site['name']} news")
    if site.get("description"):
        _text(feed, "subtitle", site["description"])
    _text(feed, "updated", rfc3339(max((p.date for p in posts), default=now)))
    _link(feed, "self", base + PATH, "application/atom+xml")
    _link(feed, "alternate", base + "news/", "text/html")
    _person(feed, site.get("operator") or site["name"], site["contact"])
    _text(feed, "generator", "Speculum").set("version", __version__)
    for post in posts:
        feed.append(_entry(post, site, base))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _entry(post: Post, site: dict, base: str) -> ET.Element:
    entry = ET.Element("entry")
    _text(entry, "id", entry_id(post, site))
    _text(entry, "title", post.title)
    _text(entry, "published", rfc3339(post.date))
    _text(entry, "updated", rfc3339(post.date))
    _person(entry, post.author or site.get("operator") or site["name"])
    _link(entry, "alternate", base + post.path.lstrip("/"), "text/html")
    if post.summary:
        _text(entry, "summary", post.summary)
    _text(entry, "content", absolute_links(post.html, base)).set("type", "html")
    return entry


def entry_id(post: Post, site: dict) -> str:
    """tag:<hostname>,<date of the file name>:news/<slug>"""
    return f"tag:{site['hostname']},{post.slug[:10]}:news/{post.slug}"


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _link(parent: ET.Element, rel: str, href: str, media_type: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "type": media_type, "href": href})


def _person(parent: ET.Element, name: str, email: str = "") -> None:
    author = ET.SubElement(parent, "author")
    _text(author, "name", name)
    if email:
        _text(author, "email", email)
