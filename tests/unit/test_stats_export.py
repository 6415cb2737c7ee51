"""What the site gets from the statistics: vnstat's history and the export document."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from stats_logs import PROJECTS, expected, speculum_lines

from speculum.cli import main
from speculum.stats import bandwidth
from speculum.stats.export import export
from speculum.stats.ingest import ingest
from speculum.stats.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "vnstat-2.10.json"  # real `vnstat --json -i eth0`
NOW = datetime(2026, 11, 21, 8, 41)  # the sample's last update, host local time


def _entry(year, month, day=None, hour=None, rx=0, tx=0) -> dict:
    e = {"date": {"year": year, "month": month}, "rx": rx, "tx": tx}
    if day is not None:
        e["date"]["day"] = day
    if hour is not None:
        e["time"] = {"hour": hour, "minute": 0}
    return e


def _sample(**lists) -> str:
    data = json.loads(SAMPLE.read_text())
    for name, entries in lists.items():
        data["interfaces"][0]["traffic"][name] = entries
    return json.dumps(data)


def test_real_vnstat_output_gives_full_windows():
    out = bandwidth.parse_vnstat(SAMPLE.read_text(), "eth0", NOW)
    assert out["interface"] == "eth0"
    assert [len(out[k]) for k in ("hours", "days", "months")] == [24, 30, 12]
    assert out["hours"][-1] == {"period": "2026-11-21T08", "rx": 0, "tx": 0}  # recorded, no traffic
    assert out["hours"][0] == {"period": "2026-11-20T09", "rx": None, "tx": None}  # not recorded
    assert out["days"][-1]["period"] == "2026-11-21" and out["days"][0]["period"] == "2026-10-23"
    assert out["months"][0]["period"] == "2025-12" and out["months"][-1]["period"] == "2026-11"


def test_entries_land_in_their_periods():
    text = _sample(hour=[_entry(2026, 11, 20, 23, rx=5, tx=7), _entry(2026, 11, 21, 8, rx=1, tx=2)],
                   day=[_entry(2026, 11, 1, rx=100, tx=200)], month=[_entry(2026, 1, rx=9, tx=9)])
    out = bandwidth.parse_vnstat(text, "eth0", NOW)
    hours = {h["period"]: (h["rx"], h["tx"]) for h in out["hours"]}
    assert hours["2026-11-20T23"] == (5, 7) and hours["2026-11-21T08"] == (1, 2)
    assert sum(1 for h in out["hours"] if h["rx"] is None) == 22
    assert {d["period"]: d["rx"] for d in out["days"]}["2026-11-01"] == 100
    assert {m["period"]: m["tx"] for m in out["months"]}["2026-01"] == 9


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "unexpected output"),
    (json.dumps({"jsonversion": "2", "interfaces": []}), "no interface 'eth0'"),
    (json.dumps({"jsonversion": "1", "interfaces": [{"name": "eth0"}]}), "version '1'"),
    (_sample(hour=[{"date": {"year": 2026}}]), "unexpected hour entry"),
])
def test_bad_vnstat_output_is_named(text, message):
    with pytest.raises(bandwidth.BandwidthError, match=message):
        bandwidth.parse_vnstat(text, "eth0", NOW)


def test_missing_vnstat_is_named():
    with pytest.raises(bandwidth.BandwidthError, match="not installed"):
        bandwidth.read_vnstat("eth0", vnstat="/nonexistent/vnstat")


@pytest.fixture
def filled(tmp_path):
    lines = speculum_lines(2000)  # 2026-11-21 22:00 .. 2026-11-22 00:00 UTC
    log = tmp_path / "access.log"
    log.write_text("".join(lines))
    store = Store(tmp_path / "stats.sqlite")
    ingest(store, [log], projects=PROJECTS)
    yield store, expected(lines)
    store.close()


def test_export_covers_the_window_per_day_and_project(filled):
    store, truth = filled
    today = date(2026, 11, 22)
    data = export(store, today, datetime(2026, 11, 22, 1, tzinfo=UTC), days=7)
    assert data["window"] == {"from": "2026-11-16", "to": "2026-11-22", "days": 7}
    assert [d["day"] for d in data["days"]][0] == "2026-11-16" and len(data["days"]) == 7
    assert data["days"][0] == {"day": "2026-11-16", "requests": 0, "bytes": 0, "clients": 0, "projects": {}}
    assert data["totals"]["requests"] == truth["requests"] and data["totals"]["bytes"] == truth["bytes"]
    assert sum(d["requests"] for d in data["days"]) == truth["requests"]
    per_project = {}
    for d in data["days"]:
        assert sum(p["bytes"] for p in d["projects"].values()) == d["bytes"]
        for pid, p in d["projects"].items():
            per_project[pid] = per_project.get(pid, 0) + p["requests"]
    ranked = data["projects"]
    assert [p["bytes"] for p in ranked] == sorted((p["bytes"] for p in ranked), reverse=True)
    assert per_project == {p["id"]: p["requests"] for p in ranked}
    for pid in PROJECTS:
        assert per_project[pid] == truth["projects"][pid]["requests"]
    assert data["days"][-2]["clients"] > 0 and data["bandwidth"] is None
    json.dumps(data)  # JSON-ready


def test_export_window_before_the_data_is_empty(filled):
    store, _truth = filled
    data = export(store, date(2026, 11, 1), datetime(2026, 11, 1, tzinfo=UTC), days=3)
    assert data["totals"]["requests"] == 0 and data["projects"] == []
    assert all(d["requests"] == 0 for d in data["days"])


def test_cli_export_writes_the_document_atomically(filled, tmp_path, capsys):
    store, truth = filled
    out = tmp_path / "export.json"
    assert main(["stats", "export", "--store", str(store.path), "--days", "400", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["totals"]["requests"] == truth["requests"] and len(data["days"]) == 400
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    # a missing vnstat is reported, the statistics are still written
    assert main(["stats", "export", "--store", str(store.path), "--interface", "nosuch0", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["bandwidth"] is None and data["bandwidth_error"]
    assert "stats export:" in capsys.readouterr().err
    assert main(["stats", "export", "--store", str(store.path), "--days", "0"]) == 2


def test_cli_export_without_a_store_fails(tmp_path, capsys):
    assert main(["stats", "export", "--store", str(tmp_path / "none.sqlite")]) != 0
    assert "no statistics store" in capsys.readouterr().err

