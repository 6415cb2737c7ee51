"""mirrorctl scan, test, probefile and markers against a real rsync daemon
and a real HTTP server standing in for our own site (127.0.0.1 only)."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
import servers
import yaml

from speculum import cli

STAMP = int(time.time()) - 3600
TREE = {
    "dists/stable/Release": b"Release\n",
    "pool/a/a_1.0.deb": b"x" * 5000,
    "pool/b/b_2.0.deb": b"y" * 7000,
    "lastsync": f"{STAMP}\n".encode(),
}
pytestmark = pytest.mark.skipif(not Path("/usr/bin/rsync").exists(), reason="needs rsync")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream")
    with servers.rsync_daemon(root, servers.write_tree(root / "tree", TREE), "pw") as served:
        yield served


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Our mirror: the tree under /tree/, and /locked/ missing the pool."""
    root = tmp_path_factory.mktemp("site")
    servers.write_tree(root / "tree", TREE)
    servers.write_tree(root / "locked", {"lastsync": f"{STAMP - 7200}\n".encode()})
    with servers.http_server(root) as url:
        yield url + "/"


@pytest.fixture
def db(tmp_path, upstream) -> Path:
    projects = {
        "tree": {"name": "Tree", "enabled": True, "verify": {"file": "lastsync", "format": "unix"},
                 "sync": {"method": "rsync", "upstream": f"{upstream['url']}/tree/", "syncs_per_day": 4}},
        "locked": {"name": "Locked", "enabled": False, "verify": {"file": "lastsync", "format": "unix"},
                   "sync": {"method": "rsync", "upstream": f"{upstream['url']}/auth/", "user": "speculum",
                            "password_secret": "locked_pw", "syncs_per_day": 4}},
        "gone": {"name": "Gone", "enabled": True,
                 "sync": {"method": "rsync", "upstream": f"{upstream['url']}/nope/", "syncs_per_day": 4}},
    }
    path = tmp_path / "group_vars/all/projects.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"speculum_projects": projects}, sort_keys=False))
    return path


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def test_scan_records_files_and_size_and_enables(db, monkeypatch, capsys):
    monkeypatch.setenv("SPECULUM_PASSWORD_LOCKED_PW", "pw")
    assert run("scan", "--db", db, "tree", "locked", "-e", "--json") == 0
    report = {r["project"]: r for r in json.loads(capsys.readouterr().out)}
    assert report["tree"]["files"] == 4 and report["tree"]["size"] == sum(map(len, TREE.values()))
    projects = yaml.safe_load(db.read_text())["speculum_projects"]
    assert projects["locked"]["enabled"] is True  # -e: the scan worked
    assert projects["tree"]["scan"]["files"] == 4
    assert projects["tree"]["scan"]["date"] == time.strftime("%Y-%m-%d")
    assert run("validate", "--db", db) == 0


def test_scan_failure_is_reported_and_not_enabled(db, capsys):
    assert run("scan", "--db", db, "locked", "gone", "-e") == 1  # no password, unknown module
    out = capsys.readouterr().out
    assert "locked" in out and "gone" in out and "error" in out
    projects = yaml.safe_load(db.read_text())["speculum_projects"]
    assert projects["locked"]["enabled"] is False and "scan" not in projects["locked"]


def test_test_reports_reachability_markers_and_serving(db, site, capsys):
    assert run("test", "--db", db, "tree", "--site-url", site, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["upstream_reachable"] is True
    assert report["upstream_marker_ts"] == STAMP and report["local_marker_ts"] == STAMP
    assert report["served"] is True
    assert run("test", "--db", db, "gone", "--site-url", site, "--json") == 3
    report = json.loads(capsys.readouterr().out)
    assert report["upstream_reachable"] is False and report["served"] is False


def test_probefile_in_one_project_with_md5(db, site, capsys):
    assert run("probefile", "--db", db, "tree/pool/a/a_1.0.deb", "--md5", "--site-url", site, "--json") == 0
    report = {r["where"]: r for r in json.loads(capsys.readouterr().out)}
    digest = hashlib.md5(TREE["pool/a/a_1.0.deb"]).hexdigest()
    assert report["upstream"]["has"] and report["upstream"]["md5"] == digest
    assert report["ours"]["has"] and report["ours"]["md5"] == digest


def test_probefile_across_projects(db, site, capsys):
    assert run("probefile", "--db", db, "lastsync", "--site-url", site, "--json") == 0
    found = {(r["project"], r["where"]): r["has"] for r in json.loads(capsys.readouterr().out)}
    assert found[("tree", "upstream")] and found[("tree", "ours")]
    assert not found[("gone", "upstream")] and not found[("gone", "ours")]
    assert ("locked", "upstream") not in found  # disabled projects are not probed


def test_markers_with_upstream(db, site, capsys):
    assert run("enable", "--db", db, "locked") == 0
    capsys.readouterr()
    shutil.copy(db, db.with_suffix(".bak"))
    assert run("markers", "--db", db, "--upstream", "--site-url", site, "--json") == 0
    rows = {r["project"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["tree"]["ours"] == STAMP and rows["tree"]["upstream"] == STAMP
    assert rows["locked"]["ours"] == STAMP - 7200
    assert str(rows["locked"]["upstream"]).startswith("error")  # no password given
    assert run("markers", "--db", db, "--site-url", site) == 0
    assert "lastsync" in capsys.readouterr().out
