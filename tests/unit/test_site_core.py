"""Site settings, usage instructions, publishing, and the schema rules the site adds."""

from __future__ import annotations

import copy
import json
import os

import pytest
import site_inputs

from speculum import schema
from speculum.site import RESERVED_PATHS, publish, settings, usage

# --- settings -------------------------------------------------------------------------------


def test_settings_fill_defaults_and_end_urls_with_a_slash():
    out = settings.validate({"name": "M", "contact": "a@b.org", "hostname": "m.b.org",
                             "http_url": "http://m.b.org", "rsync_url": "rsync://m.b.org"})
    assert out["http_url"] == "http://m.b.org/"
    assert out["rsync_url"] == "rsync://m.b.org/"
    assert out["https_url"] == ""
    assert out["mailing_list"]["smtp_port"] == 25
    assert out["webroot"] == "/var/www/speculum"


@pytest.mark.parametrize("change, expected", [
    ({"contact": "nobody"}, "site setting 'contact': must be an e-mail address"),
    ({"http_url": "ftp://x/"}, "site setting 'http_url': must be a URL"),
    ({"https_url": "http://x/"}, "site setting 'https_url': must be a URL starting with https://"),
    ({"hostname": "bad host"}, "site setting 'hostname'"),
    ({"country": "USA"}, "site setting 'country'"),
    ({"webroot": "relative"}, "site setting 'webroot': must be an absolute path"),
    ({"links": [{"name": "x"}]}, "site setting 'links[0]'"),
    ({"mailing_list": {"address": "not-mail"}}, "site setting 'mailing_list.address'"),
    ({"mailing_list": {"smtp_port": 0}}, "site setting 'mailing_list.smtp_port'"),
    ({"mailing_list": {"smtp_starttls": "yes"}}, "site setting 'mailing_list.smtp_starttls'"),
    ({"mailing_list": {"smpt_host": "x"}}, "mailing_list.smpt_host"),
    ({"colour": "red"}, "unknown site setting(s): colour"),
])
def test_settings_errors_name_the_setting(change, expected):
    raw = {**copy.deepcopy(site_inputs.SITE), **change}
    with pytest.raises(ValueError, match=None) as info:
        settings.validate(raw)
    assert expected in str(info.value)


def test_settings_report_every_missing_setting_at_once():
    with pytest.raises(ValueError) as info:
        settings.validate({})
    for name in ("name", "contact", "hostname", "http_url"):
        assert f"site setting '{name}': required" in str(info.value)


def test_settings_load_names_the_file(tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"name": "M"}))
    with pytest.raises(ValueError, match=r"site\.json: .*'contact': required"):
        settings.load(path)
    with pytest.raises(FileNotFoundError, match="the site role writes it"):
        settings.load(tmp_path / "missing.json")


def test_site_role_writes_every_setting(repo):
    import yaml

    role_vars = yaml.safe_load((repo / "roles/site/vars/main.yml").read_text())
    assert set(role_vars["__site_settings"]) == set(settings.FIELDS)


# --- schema rules of the site ----------------------------------------------------------------

@pytest.mark.parametrize("pid", sorted(p for p in RESERVED_PATHS if schema.PROJECT_ID.fullmatch(p)))
def test_project_ids_cannot_shadow_site_paths(lab_db, pid):
    lab_db[pid] = lab_db.pop("docs")
    errors = [str(e) for e in schema.validate(lab_db)]
    assert errors == [f"project '{pid}': '{pid}' is a path of the web site (/{pid}/); choose another project id"]


def test_apt_usage_needs_suites(lab_db):
    lab_db["debian"]["usage"] = {"type": "apt"}
    assert [str(e) for e in schema.validate(lab_db)] == [
        "project 'debian', field 'usage.suites': is required for apt: the sources line names "
        "the suites, e.g. [bookworm]"]


def test_unknown_usage_type_is_named(lab_db):
    lab_db["archlinux"]["usage"]["type"] = "pacmann"
    (error,) = schema.validate(lab_db)
    assert (error.project, error.field) == ("archlinux", "usage.type")


def test_usage_defaults_to_plain_files(lab_db):
    projects = schema.normalize(lab_db)
    assert projects["software"]["usage"] == {"type": "files"}


# --- usage instructions ------------------------------------------------------------------------

def _instructions(pid, **site_changes):
    config = site_inputs.runtime_config()
    site = settings.validate({**copy.deepcopy(site_inputs.SITE), **site_changes})
    return usage.instructions(config["projects"][pid], site)


def test_apt_instructions_use_https_and_mention_plain_http():
    deb822, one_line, rsync = _instructions("debian")
    assert deb822["file"] == "/etc/apt/sources.list.d/debian.sources"
    assert deb822["text"] == ("Types: deb\nURIs: https://mirror.example.edu/debian/\nSuites: bookworm\n"
                              "Components: main\n")
    assert "http://mirror.example.edu/" in deb822["note"]
    assert one_line["text"] == "deb https://mirror.example.edu/debian/ bookworm main"
    assert rsync["text"].startswith("rsync -rlptH --safe-links --delete-delay --delay-updates "
                                    "rsync://mirror.example.edu/debian/ ./debian/")


def test_pacman_line_keeps_pacman_variables_and_http_only_sites():
    (server, _rsync) = _instructions("archlinux", https_url="")
    assert server["text"] == "Server = http://mirror.example.edu/archlinux/$repo/os/$arch"
    assert server["file"] == "/etc/pacman.d/mirrorlist"


def test_no_rsync_step_without_public_rsync_or_daemon():
    assert [s["title"] for s in _instructions("private-software")] == ["Download"]
    assert len(_instructions("debian", rsync_url="")) == 2


@pytest.mark.parametrize("kind, expected", [
    ({"type": "dnf", "path": "$releasever/BaseOS/$basearch/os/", "repo": "rocky-baseos"},
     "[rocky-baseos]\nname=Example Software (Speculum Test Mirror)\n"
     "baseurl=https://mirror.example.edu/software/$releasever/BaseOS/$basearch/os/\nenabled=1\ngpgcheck=1\n"),
    ({"type": "zypper", "path": "tumbleweed/repo/oss/"},
     "sudo zypper addrepo --refresh https://mirror.example.edu/software/tumbleweed/repo/oss/ software"),
    ({"type": "apk"}, "https://mirror.example.edu/software/latest-stable/main"),
])
def test_other_package_managers(lab_db, kind, expected):
    lab_db["software"]["usage"] = kind
    config = site_inputs.runtime_config(lab_db)
    site = settings.validate(copy.deepcopy(site_inputs.SITE))
    steps = usage.instructions(config["projects"]["software"], site)
    assert steps[0]["text"] == expected


# --- publishing ----------------------------------------------------------------------------------

def test_publish_writes_only_changes_and_removes_what_it_wrote_before(tmp_path):
    root = tmp_path / "www"
    first = publish.publish(root, {"index.html": b"home", "projects/a/index.html": b"a",
                                   "projects/b/index.html": b"b"})
    assert first == {"written": ["index.html", "projects/a/index.html", "projects/b/index.html"],
                     "removed": []}
    (root / "admin-file.txt").write_text("mine")
    mtime = (root / "index.html").stat().st_mtime_ns
    second = publish.publish(root, {"index.html": b"home", "projects/a/index.html": b"A"})
    assert second == {"written": ["projects/a/index.html"], "removed": ["projects/b/index.html"]}
    assert (root / "index.html").stat().st_mtime_ns == mtime
    assert not (root / "projects" / "b").exists()  # emptied directories go too
    assert (root / "admin-file.txt").read_text() == "mine"  # never ours
    assert sorted(os.listdir(root)) == [".speculum-site.json", "admin-file.txt", "index.html", "projects"]
    assert publish.publish(root, {"index.html": b"home", "projects/a/index.html": b"A"}) == \
        {"written": [], "removed": []}


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", ".hidden", "a/.git/config", ""])
def test_publish_refuses_paths_outside_the_web_root(tmp_path, bad):
    with pytest.raises(ValueError, match="relative path"):
        publish.publish(tmp_path, {bad: b"x"})
    assert list(tmp_path.iterdir()) == []  # checked before anything is written


def test_publish_ignores_a_tampered_manifest(tmp_path):
    (tmp_path / "keep").write_text("x")
    (tmp_path / publish.MANIFEST).write_text(json.dumps(["../outside", "keep", 3]))
    (tmp_path.parent / "outside").write_text("safe")
    publish.publish(tmp_path, {"index.html": b"x"})
    assert (tmp_path.parent / "outside").read_text() == "safe"
    assert not (tmp_path / "keep").exists()  # it was listed as ours


def test_publish_replaces_files_atomically(tmp_path):
    publish.publish(tmp_path, {"index.html": b"old"})
    before = (tmp_path / "index.html").stat().st_ino
    publish.publish(tmp_path, {"index.html": b"new"})
    assert (tmp_path / "index.html").stat().st_ino != before  # renamed over, never rewritten in place
    assert (tmp_path / "index.html").read_bytes() == b"new"
