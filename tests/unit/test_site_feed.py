"""news/atom.xml: valid Atom (a RELAX NG schema of RFC 4287, tests/data/atom.rng)
plus the checks a feed validator makes beyond the schema."""

from __future__ import annotations

import copy
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import site_inputs
from lxml import etree

from speculum.site import feed, news, settings

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "atom.rng"
NS = {"a": "http://www.w3.org/2005/Atom"}
# RFC 3339 date-time (section 5.6), as Atom requires: uppercase T and Z
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@pytest.fixture(scope="module")
def schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


@pytest.fixture
def site() -> dict:
    return settings.validate(copy.deepcopy(site_inputs.SITE))


@pytest.fixture
def posts(tmp_path) -> list[news.Post]:
    site_inputs.posts(tmp_path)
    (tmp_path / "2026-11-21-tricky.md").write_text(
        "Title: Tom & Jerry <script>alert(1)</script> ]]>\n"
        "Summary: Quotes \" and ' and <angle> brackets\n\n"
        "Raw <b>HTML</b> & an [internal link](/projects/debian/).\n", encoding="utf-8")
    (tmp_path / "2026-10-01-older.md").write_text("Title: Older\n\nAn older post.\n", encoding="utf-8")
    return news.load_posts(tmp_path)


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def check_like_a_feed_validator(root: etree._Element, base: str) -> None:
    entries = root.findall("a:entry", NS)
    ids = [e.findtext("a:id", namespaces=NS) for e in entries]
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    for date in root.iterfind(".//a:updated", NS):
        assert RFC3339.fullmatch(date.text), date.text
    for date in root.iterfind(".//a:published", NS):
        assert RFC3339.fullmatch(date.text), date.text
    # RFC 4287 4.1.1: the feed has an author, or every entry has one
    assert root.find("a:author", NS) is not None or all(e.find("a:author", NS) is not None for e in entries)
    self_links = root.findall("a:link[@rel='self']", NS)
    assert [link.get("href") for link in self_links] == [base + "news/atom.xml"]
    assert self_links[0].get("type") == "application/atom+xml"
    # at most one alternate link per (type, hreflang), feed and entries
    for element in [root, *entries]:
        alternates = [(link.get("type"), link.get("hreflang")) for link in element.findall("a:link", NS)
                      if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == len(set(alternates))
    for entry in entries:  # 4.1.1.1: an entry without content needs an alternate link
        assert entry.find("a:content", NS) is not None or entry.find("a:link[@rel='alternate']", NS) is not None
        for link in entry.iterfind("a:link", NS):
            assert link.get("href").startswith(("http://", "https://")), "entry links must be absolute"
    # the feed's updated is the newest of its entries' (or the clock's with none)
    updated = root.findtext("a:updated", namespaces=NS)
    assert all(e.findtext("a:updated", namespaces=NS) <= updated for e in entries)


def test_the_feed_is_valid_atom(schema, posts, site):
    data = feed.render_feed(posts, site, site_inputs.NOW)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<feed ")
    root = parse(data)
    schema.assertValid(root)
    check_like_a_feed_validator(root, "https://mirror.example.edu/")


def test_feed_fields(posts, site):
    root = parse(feed.render_feed(posts, site, site_inputs.NOW))
    text = lambda path, element=root: element.findtext(path, namespaces=NS)
    assert text("a:id") == "https://mirror.example.edu/news/atom.xml"
    assert text("a:title") == "Speculum Test Mirror news"
    assert text("a:updated") == "2026-11-21T00:00:00Z"  # the newest post
    assert root.find("a:link[@rel='alternate']", NS).get("href") == "https://mirror.example.edu/news/"
    assert text("a:author/a:name") == "Example University Open Source Club"
    assert text("a:author/a:email") == "mirror-admin@example.edu"
    assert text("a:generator") == "Speculum"
    entries = root.findall("a:entry", NS)
    assert [text("a:title", e) for e in entries] == [
        "Tom & Jerry <script>alert(1)</script> ]]>", "Welcome to the new mirror", "Older"]
    welcome = entries[1]
    assert text("a:id", welcome) == "tag:mirror.example.edu,2026-11-20:news/2026-11-20-welcome"
    assert text("a:published", welcome) == text("a:updated", welcome) == "2026-11-20T09:30:00Z"
    assert text("a:author/a:name", welcome) == "The mirror team"
    assert text("a:author/a:name", entries[2]) == "Example University Open Source Club"
    assert welcome.find("a:link", NS).attrib == {
        "rel": "alternate", "type": "text/html", "href": "https://mirror.example.edu/news/2026-11-20-welcome/"}
    assert text("a:summary", welcome) == posts[1].summary
    content = welcome.find("a:content", NS)
    assert content.get("type") == "html"
    assert "<strong>Speculum</strong>" in content.text  # escaped HTML, unescaped by the parser
    assert '<a href="https://mirror.example.edu/status/">' in content.text  # absolute for readers


def test_user_text_is_escaped_not_injected(posts, site):
    data = feed.render_feed(posts, site, site_inputs.NOW)
    assert b"<script>" not in data and b"<b>HTML</b>" not in data
    tricky = parse(data).find("a:entry", NS)
    assert tricky.findtext("a:summary", namespaces=NS) == "Quotes \" and ' and <angle> brackets"
    assert html.unescape(tricky.findtext("a:content", namespaces=NS)).startswith("<p>Raw <b>HTML</b> &")


def test_deterministic(posts, site):
    first = feed.render_feed(posts, site, site_inputs.NOW)
    again = feed.render_feed(list(posts), copy.deepcopy(site), datetime(2030, 1, 1, tzinfo=UTC))
    assert first == again  # the clock only matters with no posts


def test_no_posts_and_http_only(schema, site):
    site["https_url"] = ""
    root = parse(feed.render_feed([], site, site_inputs.NOW))
    schema.assertValid(root)
    check_like_a_feed_validator(root, "http://mirror.example.edu/")
    assert root.findtext("a:updated", namespaces=NS) == "2026-11-21T12:00:00Z"
    assert root.find("a:entry", NS) is None


def test_feed_author_falls_back_to_the_site_name(schema, posts, site):
    site["operator"] = ""
    root = parse(feed.render_feed(posts, site, site_inputs.NOW))
    schema.assertValid(root)
    assert root.findtext("a:author/a:name", namespaces=NS) == "Speculum Test Mirror"


def test_the_schema_rejects_broken_feeds(schema, posts, site):
    """The schema is no rubber stamp: each of these breaks RFC 4287."""
    good = feed.render_feed(posts, site, site_inputs.NOW)
    breakages = [
        lambda r: r.remove(r.find("a:id", NS)),
        lambda r: r.find("a:entry", NS).remove(r.find("a:entry/a:title", NS)),
        lambda r: r.find("a:updated", NS).__setattr__("text", "Sat, 21 Nov 2026 12:00:00 GMT"),
        lambda r: r.find("a:link", NS).attrib.pop("href"),
        lambda r: r.find("a:author", NS).remove(r.find("a:author/a:name", NS)),
        lambda r: r.find("a:entry/a:content", NS).set("type", "markdown"),
        lambda r: r.append(etree.Element("{http://www.w3.org/2005/Atom}colour")),
    ]
    for breaking in breakages:
        root = parse(good)
        breaking(root)
        assert not schema.validate(root), etree.tostring(root)[:200]
