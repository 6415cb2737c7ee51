"""News posts: parsing, ordering, and errors that name the file and the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import site_inputs

from speculum.site import news

REPO = Path(__file__).resolve().parents[2]


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_post(tmp_path):
    [post] = site_inputs.posts(tmp_path)
    assert post.slug == "2026-11-20-welcome"
    assert post.title == "Welcome to the new mirror"
    assert post.author == "The mirror team"
    assert post.date == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert post.path == "/news/2026-11-20-welcome/"
    assert post.source.startswith("The mirror now runs **Speculum**.")
    assert "<strong>Speculum</strong>" in post.html
    assert "<li>Debian four times a day</li>" in post.html
    assert '<a href="/status/">status page</a>' in post.html
    assert post.summary == "The mirror now runs Speculum. Every project is synced on a schedule:"


def test_every_post_of_the_repository_parses():
    posts = news.load_posts(REPO / "news")
    assert posts, "news/ has no posts"
    for post in posts:
        assert post.title and post.summary and post.html


def test_defaults_and_markdown_features(tmp_path):
    write(tmp_path, "2026-01-02-plain.md", """\
Title: Plain & simple

## Tables

| a | b |
|---|---|
| 1 | 2 |

```
code <here>
```
""")
    [post] = news.load_posts(tmp_path)
    assert post.author == ""
    assert post.date == datetime(2026, 1, 2, tzinfo=UTC)
    assert post.title == "Plain & simple"
    assert "<table>" in post.html and "<td>1</td>" in post.html
    assert "<code>code &lt;here&gt;" in post.html
    assert '<h2 id="tables">' in post.html
    # no paragraph: the summary is the text of the whole body
    assert post.summary.startswith("Tables a b 1 2")


def test_order_newest_first_ties_by_slug(tmp_path):
    write(tmp_path, "2026-01-01-old.md", "Title: old\n\nx\n")
    write(tmp_path, "2026-03-01-b.md", "Title: b\nDate: 2026-03-01 08:00\n\nx\n")
    write(tmp_path, "2026-03-01-a.md", "Title: a\nDate: 2026-03-01 08:00\n\nx\n")
    write(tmp_path, "2026-02-01-late.md", "Title: dated later than its name\nDate: 2026-04-01\n\nx\n")
    assert [p.slug for p in news.load_posts(tmp_path)] == [
        "2026-02-01-late", "2026-03-01-a", "2026-03-01-b", "2026-01-01-old"]


def test_other_files_are_ignored(tmp_path):
    write(tmp_path, "2026-01-01-post.md", "Title: post\n\nx\n")
    write(tmp_path, "README.txt", "not a post")
    write(tmp_path, ".2026-01-02-draft.md", "garbage")
    write(tmp_path, "2026-01-01-post.md~", "editor backup")
    (tmp_path / "2026-01-03-dir.md").mkdir()
    assert [p.slug for p in news.load_posts(tmp_path)] == ["2026-01-01-post"]


def test_missing_directory_is_no_posts(tmp_path):
    assert news.load_posts(tmp_path / "nope") == []


def test_summary_header_and_cut(tmp_path):
    write(tmp_path, "2026-01-01-given.md", "Title: t\nSummary:  In  short.  \n\nThe body.\n")
    long_words = " ".join(["word"] * 60)
    write(tmp_path, "2026-01-02-long.md", f"Title: t\n\n{long_words}\n\nsecond paragraph\n")
    given, long = sorted(news.load_posts(tmp_path), key=lambda p: p.slug)
    assert given.summary == "In short."
    assert len(long.summary) <= news.SUMMARY_LIMIT
    assert long.summary.endswith("word…") and "second" not in long.summary


def test_shorten_cuts_at_a_word():
    assert news.shorten("short") == "short"
    assert news.shorten("one two three", limit=9) == "one two…"
    assert news.shorten("one two, three", limit=10) == "one two…"
    assert news.shorten("abcdefghijkl", limit=5) == "abcd…"
    assert news.shorten("x" * 200) == "x" * 200


def test_headers_are_case_insensitive_and_crlf_and_bom_are_fine(tmp_path):
    write(tmp_path, "2026-01-01-win.md", b"\xef\xbb\xbftitle: Windows\r\nAUTHOR: me\r\n\r\nBody\r\n")
    [post] = news.load_posts(tmp_path)
    assert (post.title, post.author, post.source) == ("Windows", "me", "Body\n")


def test_find_by_slug_or_name():
    posts = [news.Post("2026-01-01-a", "a", "", datetime(2026, 1, 1, tzinfo=UTC), "", "", "", "/news/2026-01-01-a/"),
             news.Post("2026-02-01-a", "a", "", datetime(2026, 2, 1, tzinfo=UTC), "", "", "", "/news/2026-02-01-a/"),
             news.Post("2026-03-01-b", "b", "", datetime(2026, 3, 1, tzinfo=UTC), "", "", "", "/news/2026-03-01-b/")]
    assert news.find(posts, "b").slug == "2026-03-01-b"
    assert news.find(posts, "2026-02-01-a").slug == "2026-02-01-a"
    with pytest.raises(LookupError, match="ambiguous news post 'a'.*2026-01-01-a, 2026-02-01-a"):
        news.find(posts, "a")
    with pytest.raises(LookupError, match="unknown news post 'c'"):
        news.find(posts, "c")


def test_absolute_links():
    html = '<a href="/status/">s</a> <img src="/x.png"> <a href="//cdn/x">c</a> <a href="https://e/">e</a>'
    assert news.absolute_links(html, "https://m/") == (
        '<a href="https://m/status/">s</a> <img src="https://m/x.png"> <a href="//cdn/x">c</a> '
        '<a href="https://e/">e</a>')


@pytest.mark.parametrize(("name", "text", "field", "why"), [
    ("2026-01-01-x.md", "Author: me\n\nbody\n", "header 'Title'", "required"),
    ("2026-01-01-x.md", "Title:   \n\nbody\n", "header 'Title'", "required"),
    ("2026-01-01-x.md", "Title: t\nDate: 2026-02-30\n\nbody\n", "header 'Date'", "expected YYYY-MM-DD"),
    ("2026-01-01-x.md", "Title: t\nDate: 1 Jan 2026\n\nbody\n", "header 'Date'", "got '1 Jan 2026'"),
    ("2026-01-01-x.md", "Title: t\nDate: 2026-01-01 25:00\n\nbody\n", "header 'Date'", "HH:MM"),
    ("2026-01-01-x.md", "Title: t\nTags: a, b\n\nbody\n", "header 'Tags'", "unknown (known: Title"),
    ("2026-01-01-x.md", "Title: t\nTitle: u\n\nbody\n", "header 'Title'", "given twice"),
    ("2026-01-01-x.md", "Title: t\nno header here\n\nbody\n", "line 2", "expected a 'Key: value' header"),
    ("2026-01-01-x.md", "Title: t\n\n\n", "body", "empty"),
    ("2026-01-01-x.md", "Title: t\n", "body", "empty"),
    ("2026-01-01-x.md", b"Title: t\n\ncaf\xe9\n", "encoding", "not UTF-8 (byte 0xe9 on line 3)"),
    ("welcome.md", "Title: t\n\nbody\n", "file name", "must be YYYY-MM-DD-slug.md"),
    ("2026-01-01-Big_Slug.md", "Title: t\n\nbody\n", "file name", "lowercase letters"),
    ("2026-13-01-x.md", "Title: t\n\nbody\n", "file name", "'2026-13-01' is not a date"),
])
def test_errors_name_the_file_and_the_field(tmp_path, name, text, field, why):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError) as caught:
        news.load_posts(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"news post {path}: {field}: ")
    assert why in message


def test_every_bad_file_is_reported_and_no_half_list(tmp_path):
    write(tmp_path, "2026-01-01-good.md", "Title: fine\n\nbody\n")
    bad1 = write(tmp_path, "2026-01-02-bad.md", "Author: x\n\nbody\n")
    bad2 = write(tmp_path, "nodate.md", "Title: t\n\nbody\n")
    with pytest.raises(ValueError) as caught:
        news.load_posts(tmp_path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"news post {bad1}: header 'Title'")
    assert lines[1].startswith(f"news post {bad2}: file name")
