"""mirrorctl on the controller: validate, schema, schedule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from speculum import cli, schema

ROOT = Path(__file__).resolve().parents[2]
DB = ROOT / "group_vars/all/projects.yml"


@pytest.fixture
def repo_copy(tmp_path):
    """A copy of group_vars/all/ to edit."""
    target = tmp_path / "group_vars/all"
    shutil.copytree(DB.parent, target)
    return target


def test_validate_the_lab_database(capsys):
    assert cli.main(["validate", "--db", str(DB)]) == 0
    assert "no errors" in capsys.readouterr().out


def test_validate_reports_every_error(repo_copy, capsys):
    data = yaml.safe_load((repo_copy / "projects.yml").read_text())
    data["speculum_projects"]["debian"]["sync"]["syncs_per_day"] = 7
    data["speculum_projects"]["archlinux"]["colour"] = "blue"
    (repo_copy / "projects.yml").write_text(yaml.safe_dump(data))
    assert cli.main(["validate", "--db", str(repo_copy / "projects.yml")]) == 1
    err = capsys.readouterr().err
    assert "2 errors" in err
    assert "project 'debian', field 'sync.syncs_per_day': 7 runs a day" in err
    assert "nearest valid values: 6 or 8" in err
    assert "project 'archlinux', field 'colour': unknown field" in err


def test_schema_prints_the_reference(capsys):
    assert cli.main(["schema"]) == 0
    assert capsys.readouterr().out == schema.markdown_reference()


def test_schedule_json_shape(capsys):
    assert cli.main(["schedule", "--db", str(DB), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan) == {"projects", "metrics"}
    debian = plan["projects"]["debian"]
    assert set(debian) == {"times", "on_calendar", "duration_s"}
    assert len(debian["times"]) == 4 and all(len(t) == 8 for t in debian["times"])
    assert debian["duration_s"] == 900  # the default estimate
    for key in ("peak_concurrent", "lower_bound", "peak_per_upstream", "starts_in_avoided_minutes"):
        assert key in plan["metrics"]
    assert "docs" not in plan["projects"] and "centos" not in plan["projects"]


def test_schedule_table_and_chart(capsys):
    assert cli.main(["schedule", "--db", str(DB)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["project", "runs", "every", "duration", "upstream", "starts"]
    assert "concurrent syncs, the peak of each hour:" in out
    assert sum(1 for line in out.splitlines() if line.strip()[:3] in
               {f"{h:02d}:" for h in range(24)}) == 24
    assert "peak concurrent syncs" in out and "lower bound" in out


def test_schedule_durations_override_and_previous(tmp_path, capsys):
    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"debian": 7200}))
    assert cli.main(["schedule", "--db", str(DB), "--json", "--durations", str(durations)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["projects"]["debian"]["duration_s"] == 7200
    previous = tmp_path / "plan.json"
    previous.write_text(json.dumps(plan))
    assert cli.main(["schedule", "--db", str(DB), "--json", "--durations", str(durations),
                     "--previous", str(previous)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["projects"] == plan["projects"]
    assert again["metrics"]["moved_from_previous"] == []


def test_schedule_reads_settings_beside_the_database(repo_copy, capsys):
    site = yaml.safe_load((repo_copy / "site.yml").read_text())
    site["speculum_schedule"]["fixed_times"] = {"debian": ["02:07"]}
    (repo_copy / "site.yml").write_text(yaml.safe_dump(site))
    assert cli.main(["schedule", "--db", str(repo_copy / "projects.yml"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["projects"]["debian"]["times"] == ["02:07:00", "08:07:00", "14:07:00", "20:07:00"]


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "--durations must be a JSON object"),
    ('{"debian": -5}', "--durations must be a JSON object"),
    ("not json", "not JSON"),
])
def test_schedule_rejects_bad_durations(tmp_path, capsys, content, message):
    durations = tmp_path / "d.json"
    durations.write_text(content)
    assert cli.main(["schedule", "--db", str(DB), "--durations", str(durations)]) == 1
    assert message in capsys.readouterr().err


def test_schedule_rejects_bad_settings(repo_copy, capsys):
    site = yaml.safe_load((repo_copy / "site.yml").read_text())
    site["speculum_schedule"]["windows"] = {"debian": {"allow": ["01:00-02:00"]}}
    site["speculum_schedule"]["fixed_times"] = {"nope": ["01:00"]}
    (repo_copy / "site.yml").write_text(yaml.safe_dump(site))
    assert cli.main(["schedule", "--db", str(repo_copy / "projects.yml")]) == 1
    err = capsys.readouterr().err
    assert "schedule setting 'fixed_times', project 'nope': unknown project" in err
    assert "schedule setting 'windows', project 'debian': leaves no room" in err


@pytest.mark.parametrize("fmt", ["json", "mirmon", "mirrorz", "tunasync", "csv", "markdown"])
def test_export_every_format_from_the_repository(fmt, capsys):
    assert cli.main(["export", "--db", str(DB), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "debian" in out and "centos" not in out
    if fmt in ("json", "mirrorz", "tunasync"):
        json.loads(out)


def test_export_on_the_host_carries_live_status(tmp_path, capsys):
    from speculum import config, status

    runtime = config.build(yaml.safe_load(DB.read_text())["speculum_projects"],
                           {"state_dir": str(tmp_path / "state")})
    (tmp_path / "state/status").mkdir(parents=True)
    record = status.new_record(runtime["projects"]["debian"])
    record.update(status="success", last_update_ts=1763700000)
    status.save(tmp_path / "state/status", record)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(runtime))
    output = tmp_path / "jobs.json"
    assert cli.main(["export", "--config", str(cfg), "--format", "tunasync", "-o", str(output)]) == 0
    jobs = {j["name"]: j for j in json.loads(output.read_text())}
    assert jobs["debian"]["status"] == "success" and jobs["debian"]["last_update_ts"] == 1763700000
    assert jobs["archlinux"]["status"] == "none"


COSI = ROOT.parent / "shared/data/cosi-go-mirror-mirrors.json"


@pytest.mark.skipif(not COSI.is_file(), reason="the shared COSI data is not present")
def test_import_cosi_into_a_new_database(tmp_path, capsys):
    db = tmp_path / "projects.yml"
    assert cli.main(["import", "--format", "cosi", str(COSI), "--db", str(db), "--dry-run"]) == 0
    assert not db.exists()  # dry run: printed, nothing written
    assert "archlinux:" in capsys.readouterr().out
    assert cli.main(["import", "--format", "cosi", str(COSI), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "imported 49 project(s)" in out and "blender_rsync_password" in out
    assert cli.main(["validate", "--db", str(db)]) == 0
    before = db.read_bytes()
    assert cli.main(["import", "--format", "cosi", str(COSI), "--db", str(db)]) == 0
    assert "kept 49 existing" in capsys.readouterr().out
    assert db.read_bytes() == before


def test_import_legacy_scripts(tmp_path, capsys):
    legacy = ROOT / "tests/data/legacy-scripts"
    db = tmp_path / "projects.yml"
    assert cli.main(["import", "--format", "scripts", str(legacy / "scripts"), "--units",
                     str(legacy / "units"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "not mapped" in out and "fedora" in out
    projects = yaml.safe_load(db.read_text())["speculum_projects"]
    assert {"ubuntu", "archlinux", "gentoo", "slackware"} <= set(projects)
    assert projects["archlinux"]["sync"]["syncs_per_day"] == 12


def test_log_prints_the_latest_run(tmp_path, capsys):
    from speculum import config

    runtime = config.build(yaml.safe_load(DB.read_text())["speculum_projects"],
                           {"log_dir": str(tmp_path / "log"), "state_dir": str(tmp_path / "state")})
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(runtime))
    assert cli.main(["log", "deb", "--config", str(cfg)]) == 1
    assert "has no run log yet" in capsys.readouterr().err
    log_dir = tmp_path / "log/debian"
    log_dir.mkdir(parents=True)
    (log_dir / "20261121T000000.000000.log").write_text("".join(f"line {n}\n" for n in range(10)))
    (log_dir / "latest.log").symlink_to("20261121T000000.000000.log")
    assert cli.main(["log", "deb", "--config", str(cfg), "-n", "3"]) == 0
    assert capsys.readouterr().out == "line 7\nline 8\nline 9\n"
    assert cli.main(["log", "deb", "--db", str(DB)]) == 2  # not on a host
