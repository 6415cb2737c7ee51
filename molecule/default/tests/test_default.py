"""The converged and synced mirror host, checked from the outside.

Runs after converge, the idempotence step and playbooks/sync.yml (the
scenario's side effect), against the mirror container; the fixture upstream
container is reached for comparisons.
"""

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import testinfra
import yaml

from speculum import config as runtime_config
from speculum import schedule

ROOT = Path(__file__).resolve().parents[3]
DB = yaml.safe_load((ROOT / "group_vars/all/projects.yml").read_text())["speculum_projects"]
MOLECULE = yaml.safe_load((ROOT / "molecule/default/molecule.yml").read_text())
SCHEDULE = MOLECULE["provisioner"]["inventory"]["host_vars"]["speculum-molecule-mirror"]["speculum_schedule"]
RUNTIME = runtime_config.build(DB)
# What the deploy planned: no recorded runs yet at converge time, no previous plan.
PLAN = schedule.plan_projects(RUNTIME["projects"], SCHEDULE).as_json()["projects"]
ENABLED = sorted(p for p, r in RUNTIME["projects"].items() if r["enabled"])
SYNCING = [p for p in ENABLED if RUNTIME["projects"][p]["sync"]["method"] != "static"]
RSYNC = [p for p in SYNCING if RUNTIME["projects"][p]["sync"]["method"] == "rsync"]
DISABLED = sorted(p for p, r in RUNTIME["projects"].items() if not r["enabled"])
UPSTREAM = testinfra.get_host("podman://speculum-molecule-upstream")
# Where each rsync project's upstream module lives in the fixture container.
UPSTREAM_TREE = {"debian": "debian", "archlinux": "archlinux", "software": "software",
                 "private-software": "software"}
# Paths a project's stages exclude on purpose (archlinux: --exclude=/iso/).
EXCLUDED = {"archlinux": ("iso/",)}


def http_get(host, path):
    """(status, body bytes) of GET http://localhost<path> from inside the host."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        "    r = urllib.request.urlopen('http://localhost' + sys.argv[1])\n"
        "    body, code = r.read(), r.status\n"
        "except urllib.error.HTTPError as e:\n"
        "    body, code = e.read(), e.code\n"
        "sys.stdout.write(str(code) + '\\n' + body.hex())\n"
    )
    out = host.check_output("python3 -c %s %s", script, path)
    code, _, body = out.partition("\n")
    return int(code), bytes.fromhex(body.strip())


def journal_on_failure(host, unit):
    return host.run("journalctl -u %s --no-pager -n 50", unit).stdout


def test_nginx_running_and_config_valid(host):
    nginx = host.service("nginx")
    assert nginx.is_running
    assert nginx.is_enabled
    assert host.run("nginx -t").rc == 0
    assert host.socket("tcp://0.0.0.0:80").is_listening


@pytest.mark.parametrize("project", SYNCING)
def test_timer_enabled_with_expected_calendar(host, project):
    timer = f"speculum-sync-{project}.timer"
    assert host.service(timer).is_running, journal_on_failure(host, timer)
    wants = host.check_output("systemctl show -p Wants --value speculum-sync.target")
    assert timer in wants.split()
    unit = host.file(f"/etc/systemd/system/{timer}").content_string
    calendars = re.findall(r"^OnCalendar=(.*)$", unit, re.MULTILINE)
    assert calendars == PLAN[project]["on_calendar"]
    deployed = json.loads(host.file("/etc/speculum/config.json").content_string)
    assert deployed["projects"][project]["schedule"]["oncalendar"] == calendars
    assert "Persistent=true" in unit
    # systemd itself agrees on the next elapse: one of the planned times
    nxt = host.check_output("systemctl show -p NextElapseUSecRealtime --value %s", timer)
    assert re.search(r"(\d\d:\d\d):00", nxt).group(1) + ":00" in PLAN[project]["times"]
    # No timer of ours fires on the hour.
    assert all(not c.endswith(":00:00") for c in calendars)


def test_target_enabled_at_boot(host):
    assert host.service("speculum-sync.target").is_enabled


@pytest.mark.parametrize("project", DISABLED + ["docs"])
def test_disabled_and_static_projects_have_no_units(host, project):
    for suffix in ("service", "timer"):
        assert not host.file(f"/etc/systemd/system/speculum-sync-{project}.{suffix}").exists
    assert host.run("systemctl cat speculum-sync-%s.service", project).rc != 0


@pytest.mark.parametrize("project", DISABLED)
def test_disabled_projects_not_served(host, project):
    assert http_get(host, f"/{project}/")[0] == 404


@pytest.mark.parametrize("project", SYNCING)
def test_sync_succeeded_and_status_is_valid(host, project):
    path = f"/var/lib/speculum/status/{project}.json"
    record = json.loads(host.file(path).content_string)
    for field in ("name", "status", "last_update_ts", "last_started_ts", "last_ended_ts",
                  "next_schedule_ts", "upstream", "size", "exit_code", "duration"):
        assert field in record, field
    assert record["status"] == "success", (record, journal_on_failure(host, f"speculum-sync-{project}"))
    assert record["exit_code"] == 0
    assert record["last_ended_ts"] >= record["last_started_ts"] > 0
    assert record["last_update_ts"] == record["last_ended_ts"]
    assert record["next_schedule_ts"] > record["last_ended_ts"]
    assert record["history"][-1]["status"] == "success"
    assert host.file(record["log_file"]).is_file


@pytest.mark.parametrize("project", RSYNC)
def test_files_served_byte_identical_to_upstream(host, project):
    tree = f"/srv/upstream/{UPSTREAM_TREE[project]}"
    listing = UPSTREAM.check_output("cd %s && find . -type f ! -name '.*' -printf '%%P\\n'", tree)
    files = [f for f in listing.splitlines()
             if not f.startswith(EXCLUDED.get(project, ())) and "/." not in f]
    assert files
    for relative in files[:: max(1, len(files) // 12)]:  # a spread sample, each file checked
        want = UPSTREAM.check_output("sha256sum %s", f"{tree}/{relative}").split()[0]
        code, body = http_get(host, f"/{project}/{quote(relative)}")
        assert code == 200, relative
        assert hashlib.sha256(body).hexdigest() == want, relative


@pytest.mark.parametrize("project", RSYNC)
def test_no_staging_left_and_markers_read(host, project):
    assert not host.file(f"/srv/mirror/{project}/.~tmp~").exists
    record = json.loads(host.file(f"/var/lib/speculum/status/{project}.json").content_string)
    if RUNTIME["projects"][project].get("verify"):
        assert record["marker_ts"] and record["marker_ts"] > 1_700_000_000


def test_excluded_paths_not_synced(host):
    assert not host.file("/srv/mirror/archlinux/iso").exists


def test_script_project_filled_its_tree(host):
    assert host.file("/srv/mirror/releases").is_directory
    assert host.run("find /srv/mirror/releases -type f | grep -q .").rc == 0


def test_dotfiles_and_staging_never_served(host):
    assert http_get(host, "/software/.hidden-upstream-note")[0] == 404
    host.run("install -d -o mirror /srv/mirror/software/.~tmp~")
    host.run("sh -c 'echo partial > /srv/mirror/software/.~tmp~/partial.tar'")
    try:
        assert http_get(host, "/software/.~tmp~/partial.tar")[0] == 404
        code, listing = http_get(host, "/software/")
        assert code == 200 and b".~tmp~" not in listing and b".hidden" not in listing
    finally:
        host.run("rm -rf /srv/mirror/software/.~tmp~")


def test_access_log_is_tab_separated(host):
    http_get(host, "/debian/")
    last = host.check_output("tail -n 1 /var/log/nginx/speculum-access.log")
    fields = last.split("\t")
    assert len(fields) == 12 and fields[3] == "/debian/" and fields[5] == "200"


@pytest.mark.parametrize("path", ["/etc/speculum-test", "/usr/local/lib/speculum/x",
                                  "/srv/mirror/x", "/var/www/speculum/x", "/var/lib/speculum/x"])
def test_sync_user_cannot_write_outside_its_directories(host, path):
    result = host.run("runuser -u mirror -- touch %s", path)
    assert result.rc != 0
    assert not host.file(path).exists


def test_sync_units_are_sandboxed(host):
    unit = "speculum-sync-debian.service"
    show = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show %s -p User -p ProtectSystem -p ReadWritePaths -p NoNewPrivileges "
        "-p TimeoutStartUSec", unit).splitlines())
    assert show["User"] == "mirror"
    assert show["ProtectSystem"] == "strict"
    assert show["NoNewPrivileges"] == "yes"
    assert sorted(show["ReadWritePaths"].split()) == sorted([
        "/srv/mirror/debian", "/var/lib/speculum/status", "/var/lib/speculum/locks",
        "/var/lib/speculum/slots", "/var/log/speculum/debian", "-/var/lib/speculum/metrics"])
    score = host.check_output("systemd-analyze security %s 2>&1 | tail -n 1", unit)
    exposure = float(re.search(r"exposure level for \S+: (\d+\.\d+)", score).group(1))
    assert exposure <= 2.5, score


def test_mirrorctl_status_on_host(host):
    out = host.check_output("mirrorctl status")
    for project in SYNCING:
        assert re.search(rf"^{re.escape(project)}\s+success", out, re.MULTILINE), out


def test_password_is_a_root_only_file(host):
    secret = host.file("/etc/speculum/secrets/private-software")
    assert secret.user == "root" and secret.mode == 0o600
    assert secret.content_string == "lab-secret"


def wait_until(predicate, timeout=30.0, step=0.5):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_a_third_sync_waits_for_a_slot_when_the_cap_is_two(host):
    """Two syncs hold the two global slots; a third waits, then runs when one frees."""
    config = json.loads(host.file("/etc/speculum/config.json").content_string)
    assert config["site"]["max_concurrent"] == 2
    holders = ["speculum-test-slot-0", "speculum-test-slot-1"]
    for number, unit in enumerate(holders):
        host.check_output("systemd-run --unit=%s --uid=mirror flock "
                          "/var/lib/speculum/slots/global.%s sleep 300", unit, str(number))
    try:
        host.check_output("systemctl start --no-block speculum-sync-software.service")
        log = "/var/log/speculum/software/latest.log"
        assert wait_until(lambda: "waiting for a global sync slot (2 in use)"
                          in host.run("cat %s", log).stdout), host.run("cat %s", log).stdout
        record = json.loads(host.file("/var/lib/speculum/status/software.json").content_string)
        assert record["status"] == "pre-syncing"
        # a manual --now run bypasses the global cap meanwhile
        assert host.run("mirrorctl sync --now releases").rc == 0
        host.check_output("systemctl stop %s", holders[0])
        assert wait_until(lambda: host.run(
            "systemctl is-active speculum-sync-software.service").stdout.strip() != "activating")
        record = json.loads(host.file("/var/lib/speculum/status/software.json").content_string)
        assert record["status"] == "success", host.run("cat %s", log).stdout
        assert "got a global sync slot after" in host.file(log).content_string
    finally:
        host.run("systemctl stop %s %s", *holders)


def test_mirrorctl_scan_against_the_real_upstream(host):
    report = {r["project"]: r for r in json.loads(host.check_output("mirrorctl scan -a --json || true"))}
    upstream_files = int(UPSTREAM.check_output("find /srv/upstream/debian -type f | wc -l"))
    assert report["debian"]["files"] == upstream_files
    assert report["private-software"]["files"] > 0  # the password file is used as root
    assert "error" in report["centos"]  # the fixture has no such module


def test_mirrorctl_test_reports_upstream_markers_and_serving(host):
    report = json.loads(host.check_output("mirrorctl test debian --json"))
    assert report["upstream_reachable"] is True and report["served"] is True
    assert report["upstream_marker_ts"] == report["local_marker_ts"] > 1_700_000_000


def test_mirrorctl_probefile_compares_upstream_and_nginx(host):
    rows = json.loads(host.check_output(
        "mirrorctl probefile debian/dists/bookworm/Release --md5 --json"))
    by_where = {r["where"]: r for r in rows}
    want = UPSTREAM.check_output("md5sum /srv/upstream/debian/dists/bookworm/Release").split()[0]
    assert by_where["upstream"]["md5"] == by_where["ours"]["md5"] == want
