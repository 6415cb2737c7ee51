"""The generator end to end, as the host runs it: files on disk in, web root out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
import site_inputs

from speculum import status as status_mod
from speculum.cli import main
from speculum.fsutil import write_json
from speculum.site import generate


@pytest.fixture
def host(tmp_path, lab_db, monkeypatch):
    """A host's files: config.json, site.json, status records, news, mirror root.
    The volume's usage is pinned: other tests write to the same file system."""
    monkeypatch.setattr(generate, "disk_usage", lambda path, now: {**site_inputs.DISK, "path": path})
    state, mirror, news = tmp_path / "state", tmp_path / "mirror", tmp_path / "news"
    for directory in (state / "status", mirror, news):
        directory.mkdir(parents=True)
    (news / "2026-11-20-welcome.md").write_text(site_inputs.POST, encoding="utf-8")

    def deploy(db):
        config = site_inputs.runtime_config(db)
        config["site"].update(state_dir=str(state), mirror_root=str(mirror))
        write_json(tmp_path / "config.json", config)
        return config

    site = {**copy.deepcopy(site_inputs.SITE), "webroot": str(tmp_path / "www"), "news_dir": str(news)}
    write_json(tmp_path / "site.json", site)
    config = deploy(lab_db)
    for record in site_inputs.statuses(config).values():
        status_mod.save(state / "status", record)
    return {"root": tmp_path, "www": tmp_path / "www", "deploy": deploy, "db": lab_db,
            "status": state / "status",
            "run": lambda **kw: generate.run(config_path=str(tmp_path / "config.json"),
                                             site_path=str(tmp_path / "site.json"), **kw)}


def test_first_run_writes_the_site_and_a_second_changes_nothing(host):
    first = host["run"](clock=lambda: site_inputs.NOW)
    assert first["rounds"] == 1 and first["removed"] == []
    for page in ("index.html", "projects/debian/index.html", "status/index.html", "news/atom.xml",
                 "api/v1/status.json", "mirrorz.json", "news/2026-11-20-welcome/index.html"):
        assert (host["www"] / page).is_file(), page
    assert len(first["written"]) == first["files"]
    again = host["run"](clock=lambda: site_inputs.NOW)
    assert again["written"] == [] and again["removed"] == []


def test_a_project_added_and_removed_shows_everywhere_and_goes(host):
    host["run"](clock=lambda: site_inputs.NOW)
    db = copy.deepcopy(host["db"])
    db["gentoo"] = {"name": "Gentoo", "category": "Distributions", "enabled": True,
                    "sync": {"method": "rsync", "upstream": "rsync://lab-upstream/gentoo/"}}
    host["deploy"](db)
    added = host["run"](clock=lambda: site_inputs.NOW)
    assert "projects/gentoo/index.html" in added["written"]
    www = host["www"]
    assert 'href="/projects/gentoo/"' in (www / "projects/index.html").read_text()
    assert "gentoo" in (www / "status/index.html").read_text()
    assert "gentoo" in [r["name"] for r in json.loads((www / "api/v1/status.json").read_text())]
    assert "gentoo" in [p["id"] for p in json.loads((www / "api/v1/projects.json").read_text())["projects"]]
    assert "gentoo" in [m["cname"] for m in json.loads((www / "mirrorz.json").read_text())["mirrors"]]

    host["deploy"](host["db"])
    removed = host["run"](clock=lambda: site_inputs.NOW)
    assert removed["removed"] == ["projects/gentoo/index.html"]
    assert not (www / "projects/gentoo").exists()
    assert "gentoo" not in (www / "projects/index.html").read_text()
    assert "gentoo" not in (www / "api/v1/status.json").read_text()


def test_a_status_written_during_a_build_is_picked_up_by_another_round(host):
    calls = []

    def clock():
        calls.append(1)
        if len(calls) == 1:  # a sync ends while the first round builds
            record = status_mod.load(host["status"], {"id": "software", "sync": {"upstream": ""}})
            record["status"] = "failed"
            status_mod.save(host["status"], record)
        return site_inputs.NOW

    summary = host["run"](clock=clock)
    assert summary["rounds"] == 2
    software = next(r for r in json.loads((host["www"] / "api/v1/status.json").read_text())
                    if r["name"] == "software")
    assert software["status"] == "failed"


def test_next_run_comes_from_the_timetable_when_the_record_has_none(host):
    config = json.loads((host["root"] / "config.json").read_text())
    statuses = generate.load_statuses(config, site_inputs.NOW)
    releases = statuses["releases"]  # never ran: no record
    assert releases["next_schedule_ts"] > site_inputs.NOW_TS
    start = datetime.fromtimestamp(releases["next_schedule_ts"], UTC)
    assert start.strftime("%H:%M") in config["projects"]["releases"]["schedule"]["times"]
    assert statuses["docs"]["next_schedule_ts"] == 0  # static: never scheduled


def test_disk_usage_is_the_volume_of_the_mirror_root(tmp_path):
    disk = generate.disk_usage(str(tmp_path), site_inputs.NOW)
    assert 0 < disk["used_bytes"] <= disk["total_bytes"]
    assert 0 <= disk["free_bytes"] <= disk["total_bytes"]
    assert disk["measured_ts"] == site_inputs.NOW_TS


def test_mirrorctl_site_build_into_a_directory(host, capsys, tmp_path):
    out = tmp_path / "elsewhere"
    code = main(["site", "build", "--config", str(host["root"] / "config.json"),
                 "--site", str(host["root"] / "site.json"), "--out", str(out)])
    assert code == 0
    assert (out / "index.html").is_file()
    assert not host["www"].exists()
    assert f"{out}: " in capsys.readouterr().out


def test_mirrorctl_site_build_names_a_bad_setting(host, capsys):
    site = json.loads((host["root"] / "site.json").read_text())
    site["contact"] = "nobody"
    write_json(host["root"] / "site.json", site)
    code = main(["site", "build", "--config", str(host["root"] / "config.json"),
                 "--site", str(host["root"] / "site.json")])
    assert code == 1
    assert "site setting 'contact': must be an e-mail address" in capsys.readouterr().err
    assert not host["www"].exists()  # nothing written


def test_the_stats_export_named_in_the_settings_feeds_the_stats_page(host):
    export = host["root"] / "export.json"
    site = json.loads((host["root"] / "site.json").read_text())
    write_json(host["root"] / "site.json", {**site, "stats_file": str(export)})
    host["run"]()
    assert "No statistics yet" in (host["www"] / "stats/index.html").read_text()
    day = {"day": "2026-11-21", "requests": 3, "bytes": 3000, "clients": 1,
           "projects": {"debian": {"requests": 3, "bytes": 3000}}}
    status = {"2xx": 3, "3xx": 0, "4xx": 0, "5xx": 0, "other": 0}
    write_json(export, {"version": 1, "generated": "2026-11-21T12:00:00+00:00",
                        "window": {"from": "2026-11-21", "to": "2026-11-21", "days": 1},
                        "first_record": "2026-11-21T10", "last_record": "2026-11-21T11",
                        "totals": {"requests": 3, "bytes": 3000, "status": status, "ipv4": 3, "ipv6": 0,
                                   "families": {"apt": {"requests": 3, "bytes": 3000}}, "top_files": []},
                        "days": [day], "projects": [{"id": "debian", "requests": 3, "bytes": 3000,
                                                     "status": status, "top_files": []}],
                        "bandwidth": None, "bandwidth_error": ""})
    summary = host["run"]()
    assert "stats/index.html" in summary["written"] and "api/v1/stats/summary.json" in summary["written"]
    assert json.loads((host["www"] / "api/v1/stats/summary.json").read_text())["totals"]["requests"] == 3
