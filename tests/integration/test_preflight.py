"""A malformed project database stops site.yml before any host is touched.

Runs the real ansible-playbook on the controller. The inventory's only host
is a container that does not exist: if anything tried to reach it, the run
would report it unreachable instead of failing in the preflight.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin")) or shutil.which("ansible-playbook")

pytestmark = pytest.mark.skipif(PLAYBOOK is None, reason="needs ansible-playbook (make setup)")

BROKEN = {
    "speculum_projects": {
        "fedora": {"name": "Fedora", "enabled": True, "colour": "blue",
                   "sync": {"method": "rsync", "upstream": "rsync://u.example/fedora/"}},
        "gentoo": {"name": "Gentoo", "enabled": True,
                   "sync": {"method": "rsync", "syncs_per_day": 4}},
        "ubuntu": {"name": "Ubuntu", "enabled": True,
                   "sync": {"method": "rsync", "upstream": "rsync://u.example/ubuntu/",
                            "stages": ["--exclude=/iso/ --exclude=/tmp/"]}},
        "alpine": {"name": "Alpine", "enabled": True,
                   "sync": {"method": "rsync", "upstream": "rsync://u.example/alpine/",
                            "syncs_per_day": 0}},
    }
}


def run_site(tmp_path: Path, extra: dict) -> subprocess.CompletedProcess:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"mirrors": {"hosts": {"speculum-no-such-container": {
        "ansible_connection": "containers.podman.podman"}}}}))
    extra_vars = tmp_path / "extra.yml"
    extra_vars.write_text(yaml.safe_dump(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0")
    return subprocess.run([PLAYBOOK, "-i", str(inventory), "-e", f"@{extra_vars}", "site.yml"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def stopped_in_preflight(result: subprocess.CompletedProcess) -> str:
    """The run failed and never reached a host: no role after preflight ran."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "TASK [common" not in out and "UNREACHABLE" not in out, out
    return out


def test_malformed_database_stops_before_any_host_change(tmp_path):
    result = run_site(tmp_path, BROKEN)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "4 error(s) in the project database, nothing was deployed" in out
    assert "project 'fedora', field 'colour': unknown field" in out
    assert "project 'gentoo', field 'sync.upstream': is required for method rsync" in out
    assert "project 'ubuntu', field 'sync.stages': stage 1 is one string" in out
    assert "project 'alpine', field 'sync.syncs_per_day': must be between 1 and 288, got 0" in out
    assert "TASK [common" not in out
    assert "UNREACHABLE" not in out


def test_missing_database_fails_loudly(tmp_path):
    # Extra vars cannot undefine a variable, so point preflight at one that never exists.
    result = run_site(tmp_path, {"preflight_required_vars": ["speculum_projects", "speculum_not_loaded"]})
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Not defined: speculum_not_loaded" in out
    assert "TASK [common" not in out


def test_bad_schedule_rules_stop_before_any_host_change(tmp_path):
    lab = yaml.safe_load((ROOT / "group_vars/all/projects.yml").read_text())
    lab["speculum_projects"]["software"]["sync"].pop("interval")
    lab["speculum_projects"]["software"]["sync"]["syncs_per_day"] = 7
    site = yaml.safe_load((ROOT / "group_vars/all/site.yml").read_text())
    rules = dict(site["speculum_schedule"], fixed_times={"fedora": ["03:15"]},
                 windows={"debian": {"allow": ["01:00-02:00"]}})
    result = run_site(tmp_path, {"speculum_projects": lab["speculum_projects"],
                                 "speculum_schedule": rules})
    out = stopped_in_preflight(result)
    assert "project 'software', field 'sync.syncs_per_day': 7 runs a day" in out
    assert "nearest valid values: 6 or 8" in out
    # with the frequency fixed, the schedule rules are checked and reported together
    lab["speculum_projects"]["software"]["sync"]["syncs_per_day"] = 8
    result = run_site(tmp_path, {"speculum_projects": lab["speculum_projects"],
                                 "speculum_schedule": rules})
    out = stopped_in_preflight(result)
    assert "schedule setting 'fixed_times', project 'fedora': unknown project" in out
    assert "schedule setting 'windows', project 'debian': leaves no room" in out
