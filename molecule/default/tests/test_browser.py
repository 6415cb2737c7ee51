"""The molecule mirror's web site in a real browser (headless Chromium on this
machine), through the port molecule.yml publishes: every page loads without
console errors or broken links, search filters the lists, the lists work
without JS; screenshots (prefix "molecule") go to build/artifacts/screenshots/.

SPECULUM_BROWSER_BASE (and SPECULUM_BROWSER_PREFIX) point it at another host,
e.g. the lab mirror: SPECULUM_BROWSER_BASE=http://127.0.0.1:8080 SPECULUM_BROWSER_PREFIX=lab
pytest molecule/default/tests/test_browser.py
"""

import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from speculum import config as runtime_config

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
import browser  # noqa: E402  (tests/browser.py)

# published_ports of speculum-molecule-mirror
BASE = os.environ.get("SPECULUM_BROWSER_BASE", "http://127.0.0.1:18780").rstrip("/")
PREFIX = os.environ.get("SPECULUM_BROWSER_PREFIX", "molecule")
DB = yaml.safe_load((ROOT / "group_vars/all/projects.yml").read_text())["speculum_projects"]
ENABLED = sorted(p for p, r in runtime_config.build(DB)["projects"].items() if r["enabled"])

pytestmark = pytest.mark.skipif(bool(browser.missing()), reason=browser.missing() or "-")


@pytest.fixture(scope="module")
def driver():
    address = urlsplit(BASE)
    try:
        socket.create_connection((address.hostname, address.port or 80), timeout=5).close()
    except OSError as err:
        pytest.fail(f"the mirror's nginx is not reachable at {BASE} ({err}): is the port published?")
    with browser.chromium() as drv:
        yield drv


def test_every_page_loads_without_errors_or_broken_links(driver):
    report = browser.crawl(driver, BASE)
    browser.save_report(report, PREFIX)
    assert not report.problems(), "\n".join(report.problems())
    assert not browser.expect_reached(report, ENABLED)
    assert not browser.not_found_page(driver, BASE)


def test_search_filters_the_project_lists(driver):
    browser.search_filters(driver, BASE)


def test_lists_and_links_work_without_javascript(driver):
    with browser.chromium(javascript=False) as nojs:
        browser.works_without_js(nojs, BASE, ENABLED)


def test_screenshots_light_and_dark(driver):
    saved = browser.screenshots(driver, BASE, PREFIX)
    assert len(saved) == 2 * len(browser.SHOTS)
    assert all(p.stat().st_size > 10_000 for p in saved), "a screenshot is (nearly) blank"
