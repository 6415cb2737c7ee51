"""The runtime configuration, the systemd units rendered from it, and the filter plugin."""

from __future__ import annotations

import json
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.speculum.mirror.plugins.filter.projects import (
    FilterModule,
    monitor_units,
    project_errors,
    runtime_config,
    site_units,
    stagger,
    stats_units,
    sync_units,
    watch_units,
)

from speculum import config, schedule, units

HEADER = "Managed by Speculum (Ansible); local changes are overwritten"
MIRRORCTL = "/usr/local/bin/mirrorctl"
SYNCING = {"debian", "archlinux", "software", "private-software", "releases"}  # enabled, not static


def render(runtime: dict) -> dict[str, str]:
    return units.render(runtime, header=HEADER, mirrorctl=MIRRORCTL, user="mirror", group="mirror")


def directives(text: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


@pytest.fixture
def runtime(lab_db) -> dict:
    return config.build(lab_db)


# --- config.build -------------------------------------------------------------------------------

def test_build_has_every_project(lab_db, runtime):
    assert set(runtime["projects"]) == set(lab_db)
    assert set(runtime["site"]) == set(config.SITE_DEFAULTS)


def test_build_schedules_only_enabled_syncing_projects(runtime):
    scheduled = {pid for pid, p in runtime["projects"].items() if p["schedule"]["starts"]}
    assert scheduled == SYNCING
    for pid, project in runtime["projects"].items():
        sched = project["schedule"]
        if pid in SYNCING:
            assert len(sched["starts"]) == project["sync"]["syncs_per_day"]
        else:
            assert sched == {"starts": [], "times": [], "oncalendar": []}


def test_build_schedule_matches_the_planner(runtime):
    result = schedule.plan_projects(runtime["projects"])
    assert set(result.starts) == set(SYNCING)
    for pid, starts in result.starts.items():
        sched = runtime["projects"][pid]["schedule"]
        assert sched["starts"] == starts
        assert sched["times"] == [f"{m // 60:02d}:{m % 60:02d}" for m in starts]
        assert sched["oncalendar"] == result.as_json()["projects"][pid]["on_calendar"]


def test_build_takes_a_given_plan(lab_db):
    normalized = config.build(lab_db)["projects"]
    plan = schedule.plan_projects(normalized, {"fixed_times": {"debian": ["02:07"]}}).as_json()
    runtime = config.build(lab_db, plan=plan)
    assert runtime["projects"]["debian"]["schedule"]["times"] == ["02:07", "08:07", "14:07", "20:07"]


def test_build_rejects_a_plan_that_does_not_fit_the_database(lab_db):
    plan = schedule.plan_projects(config.build(lab_db)["projects"]).as_json()
    lab_db["debian"]["sync"]["syncs_per_day"] = 2
    with pytest.raises(ValueError, match="project 'debian': the schedule plan has 4 start"):
        config.build(lab_db, plan=plan)


def test_build_is_json_serialisable(runtime):
    assert json.loads(json.dumps(runtime)) == runtime


def test_build_rejects_unknown_site_setting(lab_db):
    with pytest.raises(ValueError, match="unknown site setting.*mirorr_root"):
        config.build(lab_db, {"mirorr_root": "/srv"})


def test_build_default_timeout_duration(lab_db):
    runtime = config.build(lab_db, {"default_timeout": "90m", "default_max_delete": 10})
    assert runtime["site"]["default_timeout"] == 5400
    assert runtime["projects"]["centos"]["sync"]["timeout"] == 5400  # sets none itself
    assert runtime["projects"]["centos"]["sync"]["max_delete"] == 10
    assert runtime["projects"]["debian"]["sync"]["timeout"] == 6 * 3600  # its own


def test_build_default_timeout_default(runtime):
    assert runtime["site"]["default_timeout"] == 6 * 3600


def test_build_site_overrides_and_none_values(lab_db):
    runtime = config.build(lab_db, {"mirror_root": "/data/mirror", "state_dir": None,
                                    "default_syncs_per_day": 24})
    assert runtime["site"]["mirror_root"] == "/data/mirror"
    assert runtime["site"]["state_dir"] == config.SITE_DEFAULTS["state_dir"]


def test_build_default_syncs_per_day(lab_db):
    lab_db["centos"]["enabled"] = True
    del lab_db["centos"]["sync"]["syncs_per_day"]
    runtime = config.build(lab_db, {"default_syncs_per_day": 6})
    assert len(runtime["projects"]["centos"]["schedule"]["starts"]) == 6


@pytest.mark.parametrize("per_day", [0, 7, "4"])
def test_build_rejects_bad_default_syncs_per_day(lab_db, per_day):
    lab_db["centos"]["enabled"] = True
    del lab_db["centos"]["sync"]["syncs_per_day"]
    with pytest.raises(ValueError, match="default_syncs_per_day"):
        config.build(lab_db, {"default_syncs_per_day": per_day})


def test_build_bad_default_timeout(lab_db):
    with pytest.raises(ValueError):
        config.build(lab_db, {"default_timeout": "soon"})


def test_build_rejects_invalid_database(lab_db):
    lab_db["debian"]["sync"]["syncs_per_day"] = 7
    with pytest.raises(ValueError, match="project 'debian', field 'sync.syncs_per_day'"):
        config.build(lab_db)


def test_build_does_not_change_site_defaults(lab_db):
    before = json.dumps(config.SITE_DEFAULTS, sort_keys=True)
    runtime = config.build(lab_db, {"rsync_options": ["-a"]})
    runtime["site"]["rsync_options"].append("--bogus")
    assert json.dumps(config.SITE_DEFAULTS, sort_keys=True) == before


def test_load_round_trip(tmp_path, runtime):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(runtime))
    assert config.load(path) == runtime


def test_load_rejects_other_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"projects": {}}))
    with pytest.raises(ValueError):
        config.load(path)


# --- units.render -----------------------------------------------------------------------------------

def test_render_one_service_and_timer_per_syncing_project(runtime):
    files = render(runtime)
    expected = {f"speculum-sync-{pid}.{kind}" for pid in SYNCING for kind in ("service", "timer")}
    assert set(files) == expected | {"speculum-sync.target"}


def test_disabled_and_static_projects_get_no_units(runtime):
    files = render(runtime)
    assert not any("centos" in name or "docs" in name for name in files)


def test_target_wants_exactly_the_timers(runtime):
    files = render(runtime)
    target = files["speculum-sync.target"]
    wants = directives(target, "Wants")
    assert sorted(wants) == sorted(name for name in files if name.endswith(".timer"))
    assert len(wants) == len(set(wants)) == len(SYNCING)
    assert "WantedBy=timers.target" in target.splitlines()


@pytest.mark.parametrize("kind", ["service", "timer", "target"])
def test_header_is_the_first_line(runtime, kind):
    for name, text in render(runtime).items():
        if name.endswith(kind):
            assert text.splitlines()[0] == f"# {HEADER}"


def test_password_only_for_the_project_with_password_secret(runtime):
    # The mechanism (LoadCredential= or a private runtime directory filled by
    # ExecStartPre=) may change; what matters: only the project with a
    # password_secret gets its secret file, and nobody else's secret.
    files = render(runtime)
    for pid in SYNCING:
        service = files[f"speculum-sync-{pid}.service"]
        if pid == "private-software":
            assert service.count("/etc/speculum/secrets/private-software") == 1
        else:
            assert "/etc/speculum/secrets" not in service
            assert "password" not in service.lower()
            assert directives(service, "LoadCredential") == []
            assert directives(service, "ExecStartPre") == []


def test_service_settings(runtime):
    files = render(runtime)
    for pid in SYNCING:
        service = files[f"speculum-sync-{pid}.service"]
        timeout = runtime["projects"][pid]["sync"]["timeout"]
        slot_wait = runtime["site"]["slot_wait"]
        assert directives(service, "TimeoutStartSec") == [str(timeout + slot_wait + 120)]
        assert directives(service, "ExecStart") == [f"{MIRRORCTL} sync {pid}"]
        assert directives(service, "User") == ["mirror"]
        assert directives(service, "Group") == ["mirror"]
        assert directives(service, "Type") == ["oneshot"]
        assert directives(service, "RequiresMountsFor") == [f"/srv/mirror/{pid}"]
        paths = directives(service, "ReadWritePaths")
        assert len(paths) == 1
        assert paths[0].split() == [f"/srv/mirror/{pid}", "/var/lib/speculum/status",
                                    "/var/lib/speculum/locks", "/var/lib/speculum/slots",
                                    f"/var/log/speculum/{pid}", "-/var/lib/speculum/metrics"]


def test_service_timeouts_of_the_lab(runtime):
    files = render(runtime)
    # timeout + slot_wait (2h default) + 120 s
    assert directives(files["speculum-sync-debian.service"], "TimeoutStartSec") == ["28920"]
    assert directives(files["speculum-sync-releases.service"], "TimeoutStartSec") == ["9120"]


def test_service_paths_follow_site_settings(lab_db):
    runtime = config.build(lab_db, {"mirror_root": "/data/m", "state_dir": "/data/state",
                                    "log_dir": "/data/log", "secrets_dir": "/data/secrets",
                                    "metrics_dir": "/data/state/metrics"})
    files = render(runtime)
    service = files["speculum-sync-private-software.service"]
    assert directives(service, "ReadWritePaths")[0].split() == [
        "/data/m/private-software", "/data/state/status", "/data/state/locks",
        "/data/state/slots", "/data/log/private-software", "-/data/state/metrics"]
    assert "/data/secrets/private-software" in service
    assert "/etc/speculum" not in service


def test_timer_oncalendar_equals_the_plan(runtime):
    files = render(runtime)
    for pid in SYNCING:
        timer = files[f"speculum-sync-{pid}.timer"]
        assert directives(timer, "OnCalendar") == runtime["projects"][pid]["schedule"]["oncalendar"]
        assert directives(timer, "Unit") == [f"speculum-sync-{pid}.service"]
        assert directives(timer, "WantedBy") == ["speculum-sync.target"]
        assert directives(timer, "Persistent") == ["true"]


def test_every_unit_line_is_a_section_a_comment_or_a_setting(runtime):
    for name, text in render(runtime).items():
        assert text.endswith("\n"), name
        for line in text.splitlines():
            assert (line == "" or line.startswith("#") or re.fullmatch(r"\[[A-Z][a-z]+\]", line)
                    or re.fullmatch(r"[A-Z][A-Za-z]+=.*", line)), (name, line)


def test_render_with_nothing_enabled(lab_db):
    for project in lab_db.values():
        project["enabled"] = False
    files = render(config.build(lab_db))
    assert list(files) == ["speculum-sync.target"]
    assert directives(files["speculum-sync.target"], "Wants") == []


# --- the filter plugin ------------------------------------------------------------------------------

def test_filter_module_lists_the_filters():
    filters = FilterModule().filters()
    assert filters == {"project_errors": project_errors, "runtime_config": runtime_config,
                       "sync_units": sync_units, "stagger": stagger, "site_units": site_units,
                       "stats_units": stats_units, "monitor_units": monitor_units,
                       "watch_units": watch_units}


def test_monitor_units_run_the_check_as_the_sync_user():
    files = monitor_units("/var/lib/speculum", "managed", "/usr/local/bin/mirrorctl", "speculum", "speculum",
                          "/var/lib/speculum/metrics", "/etc/speculum/secrets",
                          "/etc/speculum/monitor/notify-urls", "/etc/speculum/monitor.json", 5)
    service, timer = files["speculum-check.service"], files["speculum-check.timer"]
    assert directives(service, "User") == ["speculum"]
    assert directives(service, "ExecStart") == ["/usr/local/bin/mirrorctl check --settings /etc/speculum/monitor.json"]
    # only the monitor's state and the metrics are writable; the secrets reach it as private copies
    assert directives(service, "ReadWritePaths") == ["/var/lib/speculum/monitor -/var/lib/speculum/metrics"]
    assert directives(service, "ExecStartPre")[0].startswith("+/bin/sh -c 'umask 077; cp -rT /etc/speculum/secrets ")
    assert "SPECULUM_NOTIFY_URLS=/run/speculum-check/notify-urls" in directives(service, "Environment")[0]
    assert directives(service, "SuccessExitStatus") == ["3"]
    assert directives(timer, "OnCalendar") == ["*:0/5"]


def test_watch_units_escape_specifiers_and_refuse_bad_urls():
    files = watch_units(["https://mirror.example.edu/", "http://m.example.edu/a%20b/"], "managed",
                        "/usr/local/bin/mirrorctl", "speculum-watch", "speculum-watch",
                        "/etc/speculum/watch.json", "/etc/speculum/watch-urls", 2)
    start = files["speculum-watch.service"].split("ExecStart=", 1)[1].split("\nSuccess", 1)[0]
    assert "http://m.example.edu/a%%20b/" in start and "--state-dir /var/lib/speculum-watch" in start
    assert directives(files["speculum-watch.timer"], "OnCalendar") == ["*:0/2"]
    for bad in ([], ["ftp://x/"], ["http://a b/"]):
        with pytest.raises(AnsibleFilterError, match="watchdog URLs"):
            watch_units(bad, "m", "/usr/local/bin/mirrorctl", "u", "g", "/s", "/n", 2)


def test_stagger_filter_plans_like_the_package(lab_db):
    plan = stagger(lab_db, {"fixed_times": {"debian": ["02:07"]}})
    assert plan["projects"]["debian"]["times"] == ["02:07:00", "08:07:00", "14:07:00", "20:07:00"]
    assert plan["metrics"]["starts_in_avoided_minutes"] == 0
    previous = {pid: [int(t[:2]) * 60 + int(t[3:5]) for t in p["times"]]
                for pid, p in plan["projects"].items()}
    again = stagger(lab_db, {"fixed_times": {"debian": ["02:07"]}}, {}, previous)
    assert again["projects"] == plan["projects"]


def test_stagger_and_project_errors_report_bad_schedule_rules(lab_db):
    bad = {"fixed_times": {"nope": ["01:00"]}, "windows": {"debian": {"allow": ["01:00-02:00"]}}}
    errors = project_errors(lab_db, {"lab_private_rsync_password": "x"}, bad)
    assert "schedule setting 'fixed_times', project 'nope': unknown project" in errors
    assert any("project 'debian': leaves no room" in e for e in errors)
    with pytest.raises(AnsibleFilterError, match="unknown project"):
        stagger(lab_db, bad)


def test_project_errors_of_the_lab(lab_db, lab_secrets):
    assert project_errors(lab_db, lab_secrets) == []


def test_project_errors_are_strings(lab_db):
    lab_db["debian"]["sync"]["syncs_per_day"] = 0
    lab_db["archlinux"]["homepge"] = "https://archlinux.org/"
    errors = project_errors(lab_db, {})
    assert all(isinstance(e, str) for e in errors)
    assert errors == [
        "project 'archlinux', field 'homepge': unknown field (did you mean 'homepage'?)",
        "project 'debian', field 'sync.syncs_per_day': must be between 1 and 288, got 0",
        "project 'private-software', field 'sync.password_secret': names "
        "'lab_private_rsync_password', which speculum_secrets does not define",
    ]


def test_runtime_config_filter(lab_db, runtime):
    assert runtime_config(lab_db) == runtime
    assert runtime_config(lab_db, {"default_timeout": "1h"})["site"]["default_timeout"] == 3600


@pytest.mark.parametrize("site", [None, {"bogus": 1}])
def test_runtime_config_filter_raises_on_invalid_input(lab_db, site):
    if site is None:
        lab_db["debian"]["sync"]["stages"] = ["--delete"]
    with pytest.raises(AnsibleFilterError, match="debian|bogus"):
        runtime_config(lab_db, site)


def test_runtime_config_filter_raises_on_empty_database():
    with pytest.raises(AnsibleFilterError, match="speculum_projects"):
        runtime_config(None)


def test_sync_units_filter(runtime):
    assert sync_units(runtime, HEADER, MIRRORCTL, "mirror", "mirror") == render(runtime)


@pytest.mark.parametrize("bad", [{}, {"site": {}, "projects": {}}, {"projects": {}}])
def test_sync_units_filter_rejects_other_input(lab_db, bad):
    if bad.get("site") == {}:
        bad["projects"] = config.build(lab_db)["projects"]  # site settings missing
    with pytest.raises(AnsibleFilterError, match="runtime_config"):
        sync_units(bad, HEADER, MIRRORCTL, "mirror", "mirror")


def test_sync_units_filter_rejects_raw_database(lab_db):
    with pytest.raises(AnsibleFilterError):
        sync_units({"site": config.SITE_DEFAULTS, "projects": lab_db}, HEADER, MIRRORCTL,
                   "mirror", "mirror")


def test_stats_units_read_logs_through_adm_and_write_only_the_store():
    files = stats_units("/var/lib/speculum/stats/stats.sqlite", HEADER, MIRRORCTL, "speculum-stats",
                        "speculum-stats", ["/var/log/a.log.1", "/var/log/a.log"], 10, 90, 0, 100,
                        "/var/lib/speculum/stats/export.json", 30, "eth0")
    service = files["speculum-stats.service"]
    assert directives(service, "SupplementaryGroups") == ["adm"]
    assert directives(service, "ReadWritePaths") == ["/var/lib/speculum/stats"]
    assert directives(service, "ExecStart") == [
        f"{MIRRORCTL} stats ingest --store /var/lib/speculum/stats/stats.sqlite --keep-hourly 90 "
        "--keep-daily 0 --top-files 100 /var/log/a.log.1 /var/log/a.log",
        f"{MIRRORCTL} stats export --store /var/lib/speculum/stats/stats.sqlite --days 30 --interface eth0 "
        "--out /var/lib/speculum/stats/export.json"]
    no_vnstat = stats_units("/s/stats.sqlite", HEADER, MIRRORCTL, "u", "g", ["/l"], 10, 90, 0, 100, "/s/e.json", 7, "")
    assert directives(no_vnstat["speculum-stats.service"], "ExecStart")[1] == (
        f"{MIRRORCTL} stats export --store /s/stats.sqlite --days 7 --out /s/e.json")
    assert directives(files["speculum-stats.timer"], "OnCalendar") == ["*:0/10"]


def test_the_backup_unit_reads_as_root_and_writes_only_its_paths():
    files = units.backup_units(header="managed", mirrorctl="/usr/local/bin/mirrorctl",
                               config="/etc/speculum/backup.json",
                               writable=["/var/lib/speculum/backup", "/var/lib/vnstat"], time="03:30")
    service, timer = files["speculum-backup.service"], files["speculum-backup.timer"]
    assert "ExecStart=/usr/local/bin/mirrorctl backup run --settings /etc/speculum/backup.json" in service
    assert "User=" not in service and "ProtectSystem=strict" in service
    assert "ReadWritePaths=-/var/lib/speculum/backup -/var/lib/vnstat\n" in service
    assert re.search(r"^CapabilityBoundingSet=CAP_DAC_READ_SEARCH .*CAP_CHOWN", service, re.M)
    assert "OnCalendar=*-*-* 03:30:00\n" in timer and "Persistent=true" in timer
    with pytest.raises(ValueError, match="HH:MM"):
        units.backup_units(header="h", mirrorctl="m", config="c", writable=[], time="3:30")
