"""The HTML pages of the public site (speculum.site.render + model): structure,
accessibility basics, links, the facts each page must show and the ones it
must never show, page weight and determinism."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from urllib.parse import urlsplit

import lxml.html
import pytest
import site_inputs

from speculum.site import model, render

ENABLED = ["archlinux", "debian", "docs", "private-software", "releases", "software"]
PAGES = ["index.html", "projects/index.html", "status/index.html", "stats/index.html", "news/index.html",
         "mailing-list/index.html", "about/index.html", "404.html"]


def _render(db: dict | None = None, **changes) -> dict[str, bytes]:
    inputs = site_inputs.inputs(db)
    inputs.update(changes)
    return render.render_pages(**inputs)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return _render()


def _html(files: dict[str, bytes]) -> dict[str, lxml.html.HtmlElement]:
    return {path: lxml.html.document_fromstring(data) for path, data in files.items() if path.endswith(".html")}


def _lab_db() -> dict:
    return copy.deepcopy(site_inputs._lab_db())


def _text(doc: lxml.html.HtmlElement, xpath: str = "//main") -> str:
    return " ".join(" ".join(node.itertext()) for node in doc.xpath(xpath))


def test_every_page_is_generated(files):
    expected = set(PAGES) | {f"projects/{pid}/index.html" for pid in ENABLED} | {
        "news/2026-11-20-welcome/index.html", "static/site.css", "static/site.js"}
    assert set(files) == expected


def test_pages_have_the_common_structure(files):
    for path, doc in _html(files).items():
        assert doc.get("lang") == "en", path
        assert doc.findtext(".//title").strip(), path
        assert len(doc.xpath("//h1")) == 1, path
        skip = doc.xpath("//body/*[1]")[0]
        assert skip.tag == "a" and skip.get("href") == "#main", path
        assert doc.xpath("//main[@id='main']"), path
        assert doc.xpath("//header//nav[@aria-label]"), path
        assert doc.xpath("//footer"), path
        assert doc.xpath("//link[@rel='stylesheet' and @href='/static/site.css']"), path
        assert doc.xpath("//link[@rel='alternate' and @type='application/atom+xml' and @href='/news/atom.xml']"), path


def test_pages_are_accessible(files):
    for path, doc in _html(files).items():
        levels = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        assert levels[0] == 1, path
        for before, after in zip(levels, levels[1:], strict=False):
            assert after <= before + 1, f"{path}: heading h{after} after h{before}"
        ids = doc.xpath("//@id")
        assert len(ids) == len(set(ids)), f"{path}: duplicate ids"
        for field in doc.xpath("//input"):
            assert doc.xpath(f"//label[@for='{field.get('id')}']"), f"{path}: input without label"
        for img in doc.xpath("//img"):
            assert img.get("alt") is not None, path
        for th in doc.xpath("//thead//th"):
            assert th.get("scope") == "col", path
        for th in doc.xpath("//tbody//th"):
            assert th.get("scope") == "row", path
        assert not doc.xpath("//*[@style]"), f"{path}: inline style (a CSP would block it)"
        assert not doc.xpath("//script[not(@src)]"), f"{path}: inline script"


def test_internal_links_point_to_generated_pages(files):
    docs = _html(files)
    targets = {"/" + p.removesuffix("index.html") for p in files} | {f"/{pid}/" for pid in ENABLED}
    seen = set()
    for path, doc in docs.items():
        for attr in doc.xpath("//@href | //@src"):
            url = urlsplit(str(attr))
            if url.scheme in ("http", "https", "mailto", "rsync", "data"):
                continue
            assert not url.scheme and not url.netloc, f"{path}: {attr}"
            if not url.path:  # a fragment of the same page
                assert doc.xpath(f"//*[@id='{url.fragment}']"), f"{path}: {attr}"
                continue
            assert url.path.startswith("/"), f"{path}: relative link {attr}"
            seen.add(url.path)
            if url.path.startswith("/api/") or url.path in ("/news/atom.xml", "/mirrorz.json"):
                continue
            assert url.path in targets, f"{path}: {attr} leads nowhere"
            if url.fragment:
                target = docs[url.path.lstrip("/") + "index.html"]
                assert target.xpath(f"//*[@id='{url.fragment}']"), f"{path}: {attr}"
    # every page is reachable from some page
    assert targets - {"/404.html"} <= seen | {"/"}


def test_debian_page_shows_the_apt_lines(files):
    doc = _html(files)["projects/debian/index.html"]
    code = "\n".join(c.text_content() for c in doc.xpath("//pre/code"))
    assert re.search(r"^deb https?://mirror\.example\.edu/debian/ bookworm main$", code, re.M)
    assert "URIs: https://mirror.example.edu/debian/" in code
    assert "/etc/apt/sources.list.d/debian.sources" in _text(doc)
    text = _text(doc)
    assert "rsync://lab-upstream/debian/" in text
    times = site_inputs.runtime_config()["projects"]["debian"]["schedule"]["times"]
    assert len(times) == 4 and [li.text for li in doc.xpath("//ul[@class='times']/li")] == times
    assert "1.2G" in text and "6m 52s" in text


def test_archlinux_page_shows_the_pacman_line(files):
    code = _text(_html(files)["projects/archlinux/index.html"], "//pre/code")
    assert re.search(r"Server = https?://mirror\.example\.edu/archlinux/\$repo/os/\$arch", code)


def test_private_project_shows_no_secret(files):
    html = files["projects/private-software/index.html"].decode()
    main = _text(lxml.html.document_fromstring(html))
    for secret in ("lab_private_rsync_password", "rsync://lab-upstream/private", "speculum@"):
        assert secret not in html
    assert "speculum" not in main  # the rsync user name
    assert "lab-upstream" in main  # the host is public
    assert "rsync://mirror.example.edu/private-software/" not in html  # public_rsync: false


def test_admin_only_fields_are_never_published():
    db = _lab_db()
    db["releases"]["sync"]["env"] = {"RELEASE_TOKEN": "s3cr3t-token"}
    db["releases"].update(admin="Ada Admin", admin_email="ada@example.edu")
    files = _render(db)
    blob = b"".join(files.values()).decode()
    for hidden in ("s3cr3t-token", "RELEASE_TOKEN", "ada@example.edu", "SPECULUM_TARGET", "exec rsync",
                   "added as the lab", "end of life", "smtp"):
        assert hidden not in blob, hidden


def test_status_page_has_a_row_per_enabled_project(files):
    doc = _html(files)["status/index.html"]
    rows = doc.xpath("//table//tbody/tr")
    by_name = {row.xpath("string(th)").strip(): row for row in rows}
    config = site_inputs.runtime_config()
    assert sorted(by_name) == sorted(config["projects"][pid]["name"] for pid in ENABLED)
    expect = {"Debian": ("Fresh", "Success"), "Arch Linux": ("Stale", "Failed"),
              "Example Software": ("Fresh", "Syncing"), "Mirror Documentation": ("Static", "Static"),
              "Private Software": ("Never synced", "Never run")}
    for name, words in expect.items():
        badges = [b.text for b in by_name[name].xpath(".//span[contains(@class, 'badge')]")]
        assert list(words) == badges[:2], name
    assert "rsync exited with 10" in _text(doc)
    meter = doc.xpath("//meter")[0]
    assert meter.get("value") == "62.5"
    assert "2.3T used of 3.6T" in _text(doc)


def test_disabled_projects_appear_nowhere(files):
    assert not any("centos" in path for path in files)
    for path, data in files.items():
        assert b"CentOS" not in data and b"/centos/" not in data, path


def test_home_page_shows_access_news_and_projects(files):
    doc = _html(files)["index.html"]
    text = _text(doc)
    for url in ("http://mirror.example.edu/", "https://mirror.example.edu/", "rsync://mirror.example.edu/"):
        assert url in text
    assert "Example University Open Source Club" in text
    assert doc.xpath("//a[@href='/news/2026-11-20-welcome/']")
    assert doc.xpath("//input[@type='search' and @data-filter='home-list']")
    assert len(doc.xpath("//table[@id='home-list']/tbody/tr")) == len(ENABLED)


def test_projects_page_groups_by_category(files):
    doc = _html(files)["projects/index.html"]
    assert [h.text for h in doc.xpath("//section/h2")] == ["Distributions", "Miscellaneous", "Software"]
    debian = doc.xpath("//tr[.//a[@href='/projects/debian/']]")[0]
    links = debian.xpath(".//a/@href")
    assert {"/debian/", "https://www.debian.org/"} <= set(links)
    # browsers cannot open rsync:// links: the URL is shown as text
    assert debian.xpath(".//code/text()") == ["rsync://mirror.example.edu/debian/"]
    assert debian.xpath(".//*[text()='Official']")
    assert "1.2G" in _text(debian, ".")
    private = doc.xpath("//tr[.//a[@href='/projects/private-software/']]")[0]
    assert not any(href.startswith("rsync:") for href in private.xpath(".//a/@href"))


def test_news_and_post_pages(files):
    docs = _html(files)
    assert docs["news/index.html"].xpath("//a[@href='/news/2026-11-20-welcome/']")
    post = docs["news/2026-11-20-welcome/index.html"]
    assert post.xpath("//h1")[0].text == "Welcome to the new mirror"
    assert post.xpath("//strong[text()='Speculum']")
    assert post.xpath("//time[@datetime='2026-11-20T09:30:00Z']")


def test_mailing_list_page_with_and_without_a_list(files):
    text = _text(_html(files)["mailing-list/index.html"])
    assert "mirror-announce@lists.example.edu" in text
    assert _html(files)["mailing-list/index.html"].xpath("//a[@href='https://lists.example.edu/mirror-announce']")
    site = site_inputs.settings.validate({**copy.deepcopy(site_inputs.SITE), "mailing_list": {}})
    none = _text(_html(_render(site=site))["mailing-list/index.html"])
    assert "no mailing list" in none


def test_about_page_renders_markdown(files):
    doc = _html(files)["about/index.html"]
    assert doc.xpath("//main//strong[text()='one']")
    assert doc.xpath("//a[@href='mailto:mirror-admin@example.edu']")


def test_output_is_deterministic(files):
    assert _render() == files


def test_adding_and_removing_a_project():
    db = _lab_db()
    db["kernel"] = {"name": "Linux Kernel", "category": "Software", "enabled": True,
                    "sync": {"method": "static"}}
    del db["docs"]
    files = _render(db)
    assert "projects/kernel/index.html" in files and "projects/docs/index.html" not in files
    for page in ("index.html", "projects/index.html", "status/index.html"):
        assert b'href="/projects/kernel/"' in files[page], page
    for path, data in files.items():
        assert b"/docs/" not in data and b"Mirror Documentation" not in data, path


def test_names_are_escaped():
    db = _lab_db()
    db["debian"]["name"] = "<script>alert(1)</script>"
    db["debian"]["public_notes"] = "<b>bold</b>"
    files = _render(db)
    for path, data in files.items():
        assert b"<script>alert" not in data and b"<b>bold" not in data, path
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in files["projects/debian/index.html"]


def test_home_page_weight_with_many_projects():
    db = _lab_db()
    for i in range(300):
        db[f"project{i:03d}"] = {
            "name": f"Some Project Number {i:03d}", "category": f"Category {i % 12}",
            "description": "A project with a description of an ordinary length, shown in lists",
            "homepage": f"https://project{i:03d}.example.org/", "enabled": True,
            "sync": {"method": "static"}}
    inputs = site_inputs.inputs(db)
    for pid, record in inputs["statuses"].items():
        if pid.startswith("project"):
            site_inputs.status_mod.stamp(record, "last_update", site_inputs.NOW_TS - 3600)
    files = render.render_pages(**inputs)
    weight = sum(len(files[f]) for f in ("index.html", "static/site.css", "static/site.js"))
    assert weight < 100_000, weight
    assert len(files["static/site.css"]) < 15_000 and len(files["static/site.js"]) < 15_000


def test_icons_and_avatars(files):
    db = _lab_db()
    db["debian"]["icon"] = "debian.svg"
    doc = _html(_render(db))["projects/index.html"]
    img = doc.xpath("//tr[.//a[@href='/projects/debian/']]//img")[0]
    assert img.get("src") == "/static/icons/debian.svg" and img.get("alt") == ""
    avatar = doc.xpath("//tr[.//a[@href='/projects/archlinux/']]//span[contains(@class, 'av')]")[0]
    assert avatar.text == "A" and avatar.get("aria-hidden") == "true"


# --- the view model ---------------------------------------------------------------

def _project(per_day: int = 4, timeout: int = 3600, method: str = "rsync") -> dict:
    return {"sync": {"method": method, "syncs_per_day": per_day, "timeout": timeout}}


@pytest.mark.parametrize(("age_hours", "expected"), [
    (0, "fresh"), (13, "fresh"), (13.1, "late"), (36, "late"), (36.1, "stale"), (24 * 30, "stale")])
def test_freshness_thresholds(age_hours, expected):
    # four syncs a day: a period of 6 h; fresh up to 2 x 6 h + the 1 h timeout, late up to 36 h
    record = {"last_update_ts": site_inputs.NOW_TS - int(age_hours * 3600), "marker_ts": None}
    assert model.freshness(_project(), record, site_inputs.NOW)[0] == expected


def test_freshness_prefers_the_upstream_marker_and_knows_never_and_static():
    now = site_inputs.NOW
    record = {"last_update_ts": site_inputs.NOW_TS - 60, "marker_ts": site_inputs.NOW_TS - 40 * 3600}
    assert model.freshness(_project(), record, now) == ("stale", 40 * 3600)
    assert model.freshness(_project(), {"last_update_ts": 0, "marker_ts": None}, now) == ("never", None)
    assert model.freshness(_project(method="static"), record, now) == ("static", None)
    # a very frequent project with a long timeout: fresh within the timeout, no late band below it
    record = {"last_update_ts": site_inputs.NOW_TS - 5 * 3600, "marker_ts": None}
    assert model.freshness(_project(per_day=288, timeout=6 * 3600), record, now)[0] == "fresh"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (30.4, "30s"), (412, "6m 52s"), (3600, "1h"), (7260, "2h 1m"), (90061, "1d 1h"), (None, "")])
def test_duration_text(seconds, text):
    assert model.duration(seconds) == text


def test_times_are_utc_text_and_iso():
    assert model.when(site_inputs.NOW_TS) == {"text": "2026-11-21 12:00 UTC", "short": "2026-11-21 12:00",
                                              "iso": "2026-11-21T12:00:00Z"}
    assert model.when(0) is None


def test_next_run_falls_back_to_the_timetable():
    config = site_inputs.runtime_config()
    project = config["projects"]["releases"]
    record = site_inputs.status_mod.new_record(project)
    upcoming = model.next_run(project, record, site_inputs.NOW)
    assert site_inputs.NOW.timestamp() < upcoming <= (site_inputs.NOW + timedelta(days=1)).timestamp()


def test_status_page_shows_the_monitor_results():
    checked = site_inputs.NOW.timestamp() - 120
    health = {"checked": checked, "checks": [
        {"subject": "host/http", "check": "http", "state": "ok", "message": "http://127.0.0.1/ answers HTTP 200"},
        {"subject": "host/disk", "check": "disk", "state": "warn", "message": "8.0% free on /srv/mirror"},
        {"subject": "debian", "check": "sync", "state": "ok", "message": "last run succeeded"},
        {"subject": "debian", "check": "freshness", "state": "warn",
         "message": "the upstream has stalled: its marker is 5d old"},
        {"subject": "archlinux", "check": "sync", "state": "fail",
         "message": "last run failed (exit 10): rsync exited with 10"}]}
    doc = _html(_render(health=health))["status/index.html"]
    items = [" ".join(li.text_content().split()) for li in doc.xpath("//ul[@class='health']/li")]
    assert items == ["ok Web server (HTTP): http://127.0.0.1/ answers HTTP 200",
                     "warn Free space: 8.0% free on /srv/mirror"]
    rows = {row.xpath("string(th)").strip(): " ".join(row.text_content().split())
            for row in doc.xpath("//table//tbody/tr")}
    assert "Warning the upstream has stalled: its marker is 5d old" in rows["Debian"]
    # the failing sync's message is already in the row: not repeated
    assert "Check failing" not in rows["Arch Linux"] and "last run failed" not in rows["Arch Linux"]


def test_status_page_without_monitor_results_has_no_health_section(files):
    assert not _html(files)["status/index.html"].xpath("//ul[@class='health']")
