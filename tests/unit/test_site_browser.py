"""The generated site in a real browser (headless Chromium): the site built from
the test inputs, served from a temporary directory with a stand-in listing page
per project tree. Checks and screenshots (prefix "unit") come from tests/browser.py.
"""

from __future__ import annotations

import http
import sys
from pathlib import Path

import pytest
import site_inputs
from servers import QuietHandler, http_server

from speculum.site import generate, publish

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import browser  # noqa: E402  (tests/browser.py)

pytestmark = pytest.mark.skipif(bool(browser.missing()), reason=browser.missing() or "-")

# A stand-in for nginx's listing of a project tree (the data: icon keeps Chromium
# from asking for /favicon.ico, which is not the generated site's business).
LISTING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Index of /{pid}/</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/site.css"></head>
<body class="autoindex"><main id="main"><h1>Index of /{pid}/</h1>
<p class="project-link"><a href="/projects/{pid}/">About this project</a></p>
<table class="listing"><tbody><tr class="file"><th class="name"><a href="README">README</a></th></tr></tbody></table>
</main></body></html>
"""


class SiteHandler(QuietHandler):
    """Like nginx here: a missing path gets the generated /404.html."""

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != http.HTTPStatus.NOT_FOUND or not page.exists() or self.command == "HEAD":
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, enabled project ids) of the built site, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("webroot")
    inputs = site_inputs.inputs()
    publish.publish(root, generate.build(**inputs))
    projects = sorted(pid for pid, p in inputs["config"]["projects"].items() if p["enabled"])
    for pid in projects:
        (root / pid).mkdir()
        (root / pid / "index.html").write_text(LISTING.format(pid=pid), encoding="utf-8")
        (root / pid / "README").write_text(f"The {pid} tree.\n", encoding="utf-8")
    with http_server(root, SiteHandler) as base:
        yield base, projects


@pytest.fixture(scope="module")
def driver():
    with browser.chromium() as drv:
        browser.pin_clock(drv, site_inputs.NOW)
        yield drv


def test_every_page_loads_without_errors_or_broken_links(driver, site):
    base, projects = site
    report = browser.crawl(driver, base)
    browser.save_report(report, "unit")
    assert not report.problems(), "\n".join(report.problems())
    assert not browser.expect_reached(report, projects)
    assert not browser.not_found_page(driver, base)


def test_search_filters_the_project_lists(driver, site):
    browser.search_filters(driver, site[0])


def test_lists_and_links_work_without_javascript(site):
    base, projects = site
    with browser.chromium(javascript=False) as nojs:
        browser.works_without_js(nojs, base, projects)


def test_screenshots_light_and_dark(driver, site):
    saved = browser.screenshots(driver, site[0], "unit")
    assert len(saved) == 2 * len(browser.SHOTS)
    assert all(p.stat().st_size > 10_000 for p in saved), "a screenshot is (nearly) blank"
