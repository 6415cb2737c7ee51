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
