"""The stats page and /api/v1/stats/*.json, from a real export of an ingested log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import site_inputs
from lxml import html
from stats_logs import expected, speculum_lines
from test_site_api import errors

from speculum.fsutil import write_json
from speculum.site import api, render
from speculum.site import stats as site_stats
from speculum.stats import bandwidth
from speculum.stats.export import export
from speculum.stats.ingest import ingest
from speculum.stats.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "vnstat-2.10.json"
STATS_DOCS = {"api/v1/stats/summary.json": "stats-summary", "api/v1/stats/daily.json": "stats-daily",
              "api/v1/stats/bandwidth.json": "stats-bandwidth"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An export of 2000 lines over two days (projects debian, ubuntu, archlinux, fedora), with vnstat's history."""
    tmp = tmp_path_factory.mktemp("stats")
    lines = speculum_lines(2000)
    (tmp / "access.log").write_text("".join(lines))
    store = Store(tmp / "stats.sqlite")
    ingest(store, [tmp / "access.log"], projects=("debian", "ubuntu", "archlinux", "fedora"))
    history = bandwidth.parse_vnstat(SAMPLE.read_text(), "eth0", datetime(2026, 11, 22, 1, 0))
    data = export(store, date(2026, 11, 22), datetime(2026, 11, 22, 1, tzinfo=UTC), 30, 10, history)
    store.close()
    return json.loads(json.dumps(data)), expected(lines)  # as the generator reads it back


def _pages(stats) -> dict[str, bytes]:
    return render.render_pages(**site_inputs.inputs(), stats=stats)


def _api(stats) -> dict[str, object]:
    files = api.render_api(**site_inputs.inputs(), stats=stats)
    return {path: json.loads(files[path]) for path in STATS_DOCS}


@pytest.mark.parametrize("with_stats", [True, False])
def test_stats_documents_validate(exported, with_stats):
    docs = _api(exported[0] if with_stats else None)
    for path, schema in STATS_DOCS.items():
        assert errors(schema, docs[path]) == [], path


def test_stats_api_carries_the_totals(exported):
    data, truth = exported
    docs = _api(data)
    summary = docs["api/v1/stats/summary.json"]
    assert summary["totals"]["requests"] == truth["requests"] and summary["totals"]["bytes"] == truth["bytes"]
    assert summary["exported"] == "2026-11-22T01:00:00Z"
    assert {p["id"]: p["requests"] for p in summary["projects"]}["debian"] == truth["projects"]["debian"]["requests"]
    days = docs["api/v1/stats/daily.json"]["days"]
    assert len(days) == 30 and sum(d["requests"] for d in days) == truth["requests"]
    bw = docs["api/v1/stats/bandwidth.json"]
    assert bw["interface"] == "eth0" and [len(bw[k]) for k in ("hours", "days", "months")] == [24, 30, 12]


def test_empty_documents_before_the_first_export():
    docs = _api(None)
    assert docs["api/v1/stats/summary.json"]["totals"] is None
    assert docs["api/v1/stats/daily.json"]["days"] == []
    assert docs["api/v1/stats/bandwidth.json"]["interface"] is None


def test_schemas_catch_a_broken_document(exported):
    docs = _api(exported[0])
    summary = docs["api/v1/stats/summary.json"]
    summary["totals"]["status"].pop("2xx")
    assert errors("stats-summary", summary)
    day = docs["api/v1/stats/daily.json"]
    day["days"][0]["day"] = "yesterday"
    assert errors("stats-daily", day)


def test_stats_page_shows_the_charts_and_the_table(exported):
    data, truth = exported
    page = html.fromstring(_pages(data)["stats/index.html"])
    svgs = page.xpath("//svg")
    assert len(svgs) == 7  # bytes, requests, top projects, families, bandwidth 24 h / 30 d / 12 m
    for svg in svgs:
        assert svg.get("role") == "img" and svg.xpath(".//title")
    titles = " ".join(page.xpath("//svg//title/text()"))
    assert "Debian" in titles and "apt" in titles  # display names, client families
    rows = {r.xpath("string(th)").strip(): r.xpath("td/text()") for r in page.xpath("//table//tbody/tr")}
    assert rows["Debian"][0] == f"{truth['projects']['debian']['requests']:,}"
    assert page.xpath("//a[@href='/api/v1/stats/summary.json']")
    assert page.xpath("//nav//a[@href='/stats/' and @aria-current='page']")


def test_stats_page_without_statistics_or_bandwidth(exported):
    page = html.fromstring(_pages(None)["stats/index.html"])
    assert "No statistics yet" in page.text_content() and not page.xpath("//svg")
    data = {**exported[0], "bandwidth": None, "bandwidth_error": "vnstat: not installed (Debian package vnstat)"}
    page = html.fromstring(_pages(data)["stats/index.html"])
    assert len(page.xpath("//svg")) == 4 and "vnstat: not installed" in page.text_content()


def test_stats_page_is_deterministic(exported):
    assert _pages(exported[0])["stats/index.html"] == _pages(exported[0])["stats/index.html"]


def test_load_tolerates_a_missing_or_broken_export(tmp_path, capsys, exported):
    assert site_stats.load(str(tmp_path / "none.json")) is None
    (tmp_path / "bad.json").write_text("{not json")
    assert site_stats.load(str(tmp_path / "bad.json")) is None
    assert "bad.json" in capsys.readouterr().err
    write_json(tmp_path / "old.json", {"version": 99})
    assert site_stats.load(str(tmp_path / "old.json")) is None
    write_json(tmp_path / "good.json", exported[0])
    assert site_stats.load(str(tmp_path / "good.json")) == exported[0]
