"""Drive headless Chromium (Debian's chromium + chromium-driver) against a
running Speculum web site: the helpers of tests/unit/test_site_browser.py
(a site built in a temporary directory) and molecule/default/tests/test_browser.py
(the molecule mirror's nginx).

    crawl            every page and resource reachable from /, fetched for its
                     HTTP status and, for HTML, loaded in the browser for console
                     errors; in-page anchors must exist; external links are
                     collected, never fetched (the test machines have no internet)
    not_found_page   a missing URL answers 404 with the site's own page, which
                     loads its CSS and JS from any depth
    search_filters   the search boxes of / and /projects/ filter their lists
    works_without_js the lists are complete and the links work with JS disabled
    screenshots      home, projects, one project, status, news in light and dark

Project trees (/<id>/ on the real host: nginx listings) are entered only as far
as their first listing page.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote_plus, urldefrag, urljoin, urlsplit

from speculum.site import RESERVED_PATHS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "artifacts"
ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,1600")
# Pages that are not linked from anywhere but must exist.
SEEDS = ("/", "/404.html")
# Pages the crawl must reach, besides /projects/<id>/ and /<id>/ of every project.
EXPECTED = ("/", "/projects/", "/status/", "/news/", "/mailing-list/", "/about/", "/404.html",
            "/static/site.css", "/static/site.js", "/news/atom.xml", "/api/v1/projects.json",
            "/api/v1/status.json", "/api/v1/disk.json", "/api/v1/news.json", "/api/v1/openapi.json",
            "/mirrorz.json")
# Screenshot name -> path ("project-debian" is filled in from the projects).
SHOTS = (("home", "/"), ("projects", "/projects/"), ("project-debian", "/projects/debian/"),
         ("status", "/status/"), ("news", "/news/"))
# The two lists with a search box: (page, id of the list = the input's data-filter).
LISTS = (("/", "home-list"), ("/projects/", "project-list"))
# The entries of such a list (what site.js filters); each links to /projects/<id>/.
ITEMS = "tbody tr"
TIMEOUT = 10
# Link schemes that lead nowhere to check.
LOCAL_SCHEMES = ("mailto", "data", "javascript", "tel", "about")


def missing() -> str:
    """Why the browser tests cannot run here ("" when they can)."""
    absent = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if absent:
        return f"{' and '.join(absent)} not installed (Debian packages chromium, chromium-driver; make setup)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed in this environment (make setup)"
    return ""


@contextlib.contextmanager
def chromium(javascript: bool = True):
    """A headless Chromium WebDriver with a throw-away profile; console logging on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="speculum-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_argument("--blink-settings=scriptEnabled=false")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def pin_clock(driver, when: datetime) -> None:
    """Make Date.now() of every page opened from now on start at ``when`` (the
    generator's pinned clock), so relative times read as they would on the host."""
    millis = int(when.timestamp() * 1000)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        f"(() => {{ const real = Date.now.bind(Date), shift = {millis} - real();"
        " Date.now = () => real() + shift; })();")})


# --- fetching and parsing -----------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, method: str = "GET") -> tuple[int, Message, bytes]:
    """(status, headers, body) of one request; redirects are not followed."""
    request = urllib.request.Request(url, method=method, headers={"User-Agent": "speculum-browser-test"})
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


class _Links(HTMLParser):
    """Links (kind, URL) and the fragment targets (ids, a[name]) of one HTML page."""

    ATTRS = {"a": ("href", "link"), "link": ("href", "resource"), "script": ("src", "resource"),
             "img": ("src", "resource"), "iframe": ("src", "resource")}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.anchors.update(a for a in (attrs.get("id"), attrs.get("name") if tag == "a" else None) if a)
        if tag in self.ATTRS:
            attr, kind = self.ATTRS[tag]
            if attrs.get(attr):
                self.links.append((kind, attrs[attr].strip()))


@dataclass
class Report:
    """What a crawl found; ``problems()`` lists what fails the test."""

    base: str
    status: dict[str, int] = field(default_factory=dict)  # URL -> HTTP status
    referrers: dict[str, set[str]] = field(default_factory=dict)  # URL -> pages linking to it
    pages: list[str] = field(default_factory=list)  # HTML pages loaded in the browser
    console: dict[str, list[str]] = field(default_factory=dict)  # page -> SEVERE messages
    warnings: dict[str, list[str]] = field(default_factory=dict)  # page -> WARNING messages
    external: dict[str, set[str]] = field(default_factory=dict)  # off-site URL -> pages
    redirects: dict[str, str] = field(default_factory=dict)  # URL -> Location
    anchors: list[str] = field(default_factory=list)  # links to a missing #fragment
    malformed: list[str] = field(default_factory=list)  # JSON/XML that does not parse
    allowed: dict[str, str] = field(default_factory=dict)  # path -> why it may answer >= 400

    def problems(self) -> list[str]:
        out = []
        for url, code in sorted(self.status.items()):
            if code >= 400 and urlsplit(url).path not in self.allowed:
                out.append(f"{url} answers {code}, linked from {', '.join(sorted(self.referrers.get(url, ())))}")
        origin = urlsplit(self.base)[:2]
        out += [f"{url} redirects off the site, to {to}" for url, to in sorted(self.redirects.items())
                if urlsplit(to)[:2] != origin]
        for url, messages in sorted(self.console.items()):
            out += [f"console error on {url}: {m}" for m in messages]
        return out + self.anchors + self.malformed

    def as_json(self) -> dict:
        return {"base": self.base, "status": dict(sorted(self.status.items())), "pages": self.pages,
                "console_errors": self.console, "console_warnings": self.warnings,
                "external_links": {u: sorted(r) for u, r in sorted(self.external.items())},
                "redirects": self.redirects, "problems": self.problems()}


def _tree_depth(path: str) -> int:
    """0: a site path; 1: a project tree's top listing (/<id>/); 2: deeper in a tree."""
    parts = path.split("/")
    if len(parts) < 2 or parts[1] in RESERVED_PATHS or parts[1] == "":
        return 0
    return 1 if path == f"/{parts[1]}/" else 2


def _console(driver) -> tuple[list[str], list[str]]:
    entries = driver.get_log("browser")
    return ([e["message"] for e in entries if e["level"] == "SEVERE"],
            [e["message"] for e in entries if e["level"] == "WARNING"])


def load(driver, url: str) -> None:
    """Open ``url`` and wait until the document and its deferred scripts are done."""
    driver.get(url)
    deadline = time.monotonic() + TIMEOUT
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never finished loading")
        time.sleep(0.05)


def crawl(driver, base: str, allowed: dict[str, str] | None = None, max_urls: int = 1000) -> Report:
    """Breadth-first over every same-origin link, resource and page from ``SEEDS``.

    ``allowed`` maps a path to the reason it may answer >= 400 (none expected).
    """
    base = base.rstrip("/")
    origin = urlsplit(base)[:2]
    report = Report(base=base, allowed=dict(allowed or {}))
    queue = deque(base + s for s in SEEDS)
    seen = set(queue)
    fragments: list[tuple[str, str, str]] = []  # (page, target page, fragment)
    ids: dict[str, set[str]] = {}
    while queue:
        url = queue.popleft()
        path = urlsplit(url).path or "/"
        depth = _tree_depth(path)
        # Deep tree URLs linked from the site are checked, never downloaded or followed.
        code, headers, body = fetch(url, "HEAD" if depth == 2 else "GET")
        report.status[url] = code
        if code in (301, 302, 303, 307, 308):
            location = urljoin(url, headers.get("Location", ""))
            report.redirects[url] = location
            if urlsplit(location)[:2] == origin and location not in seen:
                seen.add(location)
                report.referrers.setdefault(location, set()).add(url)
                queue.append(location)
            continue
        if code >= 400 or depth == 2:
            continue
        kind = headers.get("Content-Type", "").split(";")[0].strip()
        if path.endswith(".json"):
            try:
                json.loads(body)
            except ValueError as err:
                report.malformed.append(f"{url} is not JSON: {err}")
        elif path.endswith(".xml"):
            try:
                ET.fromstring(body)
            except ET.ParseError as err:
                report.malformed.append(f"{url} is not XML: {err}")
        if kind != "text/html":
            continue
        load(driver, url)
        report.pages.append(url)
        severe, warn = _console(driver)
        if severe:
            report.console[url] = severe
        if warn:
            report.warnings[url] = warn
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        ids[url] = parser.anchors
        for kind_, href in parser.links:
            target, fragment = urldefrag(urljoin(url, href))
            parts = urlsplit(target)
            if parts.scheme in LOCAL_SCHEMES:
                continue
            if parts[:2] != origin:  # another site, or rsync://, ftp://: reported, not fetched
                report.external.setdefault(target, set()).add(url)
                continue
            if depth == 1 and kind_ == "link" and _tree_depth(parts.path or "/") == 2:
                continue  # the files and directories of a project tree
            if fragment:
                fragments.append((url, target, fragment))
            report.referrers.setdefault(target, set()).add(url)
            if target not in seen and len(seen) < max_urls:
                seen.add(target)
                queue.append(target)
    for page, target, fragment in fragments:
        if target in ids and fragment not in ids[target]:
            report.anchors.append(f"{page} links to {target}#{fragment}, which has no such id")
    return report


def expect_reached(report: Report, projects: list[str]) -> list[str]:
    """Pages the crawl should have reached but did not."""
    paths = {urlsplit(u).path for u, code in report.status.items() if code < 400}
    wanted = list(EXPECTED) + [f"/projects/{p}/" for p in projects] + [f"/{p}/" for p in projects]
    return [p for p in wanted if p not in paths]


# --- single pages ---------------------------------------------------------------------------


def not_found_page(driver, base: str) -> list[str]:
    """A missing URL deep in the site answers 404 with the site's page, styled and error-free."""
    url = base.rstrip("/") + "/no/such/page/here/"
    code, _, body = fetch(url)
    problems = []
    if code != 404:
        problems.append(f"{url} answers {code}, not 404")
    if body != fetch(base.rstrip("/") + "/404.html")[2]:
        problems.append(f"{url} is not the site's /404.html")
    load(driver, url)
    severe, _ = _console(driver)
    # Chromium reports the document's own 404 as a failed load: expected here.
    problems += [f"console error on the 404 page at {url}: {m}" for m in severe
                 if not m.startswith(f"{url} - Failed to load resource")]
    sheets = driver.execute_script("return document.styleSheets.length")
    if not sheets:
        problems.append(f"the 404 page at {url} has no stylesheet")
    return problems


# --- search ---------------------------------------------------------------------------------


def _visible_items(driver, target: str) -> dict[str, bool]:
    """{project page URL path: displayed} of the list's entries."""
    return driver.execute_script("""
        const out = {};
        for (const item of document.getElementById(arguments[0]).querySelectorAll(arguments[1])) {
            const link = item.querySelector('a[href^="/projects/"]');
            const key = link ? link.getAttribute('href') : item.textContent.trim();
            out[key] = item.getClientRects().length > 0;
        }
        return out;""", target, ITEMS)


def _wait(driver, condition, message: str):
    deadline = time.monotonic() + 5
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def _type(box, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    if text:
        box.send_keys(text)


def search_filters(driver, base: str, query: str = "Arch Linux", match: str = "archlinux",
                   other: str = "debian") -> None:
    """On / and /projects/, typing ``query`` leaves the matching entries (``match``
    among them, ``other`` hidden; "arch" alone would keep Debian, whose description
    says "archive"), nonsense leaves none with a message, clearing restores them all,
    and ?q= in the URL fills the box in."""
    for page, target in LISTS:
        _search_one(driver, base.rstrip("/") + page, target, query, match, other)


def _search_one(driver, url: str, target: str, query: str, match: str, other: str) -> None:
    from selenium.webdriver.common.by import By

    load(driver, url)
    box = driver.find_element(By.CSS_SELECTOR, f'input[type="search"][data-filter="{target}"]')
    assert box.is_displayed(), f"{url}: the search box is hidden with JS on"
    box_id = box.get_attribute("id")
    labels = driver.find_elements(By.CSS_SELECTOR, f'label[for="{box_id}"]')
    assert labels and labels[0].text.strip(), f"{url}: the search box #{box_id} has no label"
    driver.find_element(By.TAG_NAME, "body").send_keys("/")
    assert driver.switch_to.active_element == box, f"{url}: typing / does not focus the search box"
    before = _visible_items(driver, target)
    assert len(before) > 2 and all(before.values()), f"{url}: not every entry is shown at first: {before}"
    wanted, hidden = f"/projects/{match}/", f"/projects/{other}/"

    _type(box, query)
    _wait(driver, lambda: not _visible_items(driver, target)[hidden],
          f"{url}: typing {query!r} did not hide {hidden}")
    after = _visible_items(driver, target)
    shown = [k for k, v in after.items() if v]
    assert wanted in shown, f"{url}: typing {query!r} hid {wanted}: {after}"
    assert len(shown) < len(before), f"{url}: typing {query!r} hid nothing"
    texts = driver.execute_script("""
        return [...document.getElementById(arguments[0]).querySelectorAll(arguments[1])]
            .filter(e => e.getClientRects().length)
            .map(e => (e.textContent + ' ' + Object.values(e.dataset).join(' ')).toLowerCase());""", target, ITEMS)
    assert all(w in t for t in texts for w in query.lower().split()), \
        f"{url}: entries not matching {query!r} stay visible: {texts}"
    groups = driver.execute_script("""
        return [...document.getElementById(arguments[0]).querySelectorAll('[data-group]')].map(g =>
            [g.getClientRects().length > 0,
             [...g.querySelectorAll(arguments[1])].some(e => e.getClientRects().length)]);""", target, ITEMS)
    assert all(shown_ == has for shown_, has in groups), \
        f"{url}: a category is shown without entries, or hidden with some: {groups}"
    empty = driver.find_element(By.CSS_SELECTOR, f'[data-empty="{target}"]')
    assert not empty.is_displayed(), f"{url}: the no-match message shows while entries match"

    _type(box, "zzqx-no-such-project")
    _wait(driver, lambda: not any(_visible_items(driver, target).values()),
          f"{url}: a search matching nothing leaves entries visible")
    _wait(driver, empty.is_displayed, f"{url}: no message when nothing matches")

    _type(box, "")
    _wait(driver, lambda: _visible_items(driver, target) == before,
          f"{url}: clearing the search box does not bring back every entry")
    assert not empty.is_displayed(), f"{url}: the no-match message stays after clearing"
    severe, _ = _console(driver)
    assert not severe, f"{url}: console errors while searching: {severe}"

    load(driver, f"{url}?q={quote_plus(query)}")
    box = driver.find_element(By.CSS_SELECTOR, f'input[type="search"][data-filter="{target}"]')
    assert box.get_attribute("value") == query, f"{url}?q=: the search box is not filled in"
    assert _visible_items(driver, target) == after, f"{url}?q={query}: not the same entries as typing"
    severe, _ = _console(driver)
    assert not severe, f"{url}: console errors while searching: {severe}"


# Whether the page's own scripts run: an inline script added to the page sets a flag.
_SCRIPTS_RUN = """
    const s = document.createElement('script');
    s.textContent = 'window.__speculumScriptsRun = true;';
    document.head.appendChild(s);
    return window.__speculumScriptsRun === true;"""


def works_without_js(driver, base: str, projects: list[str]) -> None:
    """``driver`` has JS disabled: every project is listed, no dead search box, links work."""
    from selenium.webdriver.common.by import By

    for page, target in LISTS:
        url = base.rstrip("/") + page
        load(driver, url)
        assert not driver.execute_script(_SCRIPTS_RUN), "the driver has JavaScript enabled"
        items = _visible_items(driver, target)
        assert all(items.values()), f"{url}: entries hidden without JS: {items}"
        listed = sorted(k.split("/")[2] for k in items if k.startswith("/projects/"))
        assert listed == sorted(projects), f"{url}: without JS the list has {listed}, not {sorted(projects)}"
        for box in driver.find_elements(By.CSS_SELECTOR, 'input[type="search"]'):
            assert not box.is_displayed(), f"{url}: a search box is shown that cannot work without JS"
        for when in driver.find_elements(By.CSS_SELECTOR, "time"):
            assert when.text.strip(), f"{url}: an empty <time> without JS"
    driver.find_element(By.CSS_SELECTOR, f'#{LISTS[1][1]} a[href="/projects/{projects[0]}/"]').click()
    _wait(driver, lambda: urlsplit(driver.current_url).path == f"/projects/{projects[0]}/",
          f"clicking {projects[0]} on /projects/ without JS did not open its page")
    assert driver.find_element(By.TAG_NAME, "h1").text.strip(), "the project page has no heading"


# --- screenshots ----------------------------------------------------------------------------


def screenshots(driver, base: str, prefix: str, out: Path | None = None) -> list[Path]:
    """PNGs of the window, light and dark, at ``out``/<prefix>-<page>-<scheme>.png."""
    out = out or ARTIFACTS / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                   {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            for name, page in SHOTS:
                load(driver, base.rstrip("/") + page)
                path = out / f"{prefix}-{name}-{scheme}.png"
                assert driver.save_screenshot(str(path)), f"no screenshot of {page}"
                saved.append(path)
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    return saved


def save_report(report: Report, prefix: str, out: Path | None = None) -> Path:
    """The crawl as JSON (pages, statuses, external links, console output) next to the screenshots."""
    out = out or ARTIFACTS
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}-crawl.json"
    path.write_text(json.dumps(report.as_json(), indent=1, default=sorted) + "\n", encoding="utf-8")
    return path
