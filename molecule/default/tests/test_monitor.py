"""Monitoring end to end: the fixture upstream breaks (its rsync daemon
stops, then its marker goes stale), and the Discord sink (the container
behind discord.com) receives exactly one well-formed alert per incident
after the threshold (two failing check runs), then exactly one recovery
message after the repair. The outside watchdog (on the upstream container)
alerts when the mirror's nginx stops. Metrics and the status views show
the results."""

import json
import re
import time

import pytest
import testinfra

UPSTREAM = testinfra.get_host("podman://speculum-molecule-upstream")
SINK = testinfra.get_host("podman://speculum-molecule-sink")
MARKER = "/srv/upstream/archlinux/lastsync"
MENTION = "<@&1234567890>"
# what Discord's "execute webhook" accepts (apprise adds "wait" to the body)
DISCORD_FIELDS = {"content", "username", "avatar_url", "tts", "embeds", "allowed_mentions", "components",
                  "attachments", "flags", "thread_name", "thread_id", "wait"}


def messages() -> list[dict]:
    out = SINK.run("cat /var/lib/discord-sink/messages.jsonl")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def new_since(count: int) -> list[dict]:
    return [well_formed(m) for m in messages()[count:]]


def well_formed(entry: dict) -> str:
    """Check one request as Discord would take it; its message text."""
    assert re.fullmatch(r"/api/webhooks/4242/molecule-token(\?.*)?", entry["path"]), entry["path"]
    assert entry["content_type"].startswith("application/json")
    body = json.loads(entry["body"])
    assert isinstance(body, dict) and set(body) <= DISCORD_FIELDS, body
    assert body.get("tts") is False
    content = body["content"]
    assert isinstance(content, str) and 0 < len(content) <= 2000
    return content


def about(contents: list[str], subject: str) -> list[str]:
    return [c for c in contents if subject in c.splitlines()[0]]


@pytest.fixture(scope="module", autouse=True)
def timers_paused(host):
    """Only the test runs the checks, the watchdog and archlinux's syncs, so it
    can count runs (a scheduled sync must not overlap the test's own)."""
    host.check_output("systemctl stop speculum-check.timer speculum-sync-archlinux.timer")
    UPSTREAM.check_output("systemctl stop speculum-watch.timer")
    yield
    UPSTREAM.run("systemctl start rsync.service speculum-watch.timer")
    host.run("systemctl start nginx.service speculum-check.timer speculum-sync-archlinux.timer")


LAST_CHECK: list[str] = []


def check(host) -> int:
    """One check run; a message apprise could not deliver is sent by the next
    run (as the timer would), so the test runs again only in that case."""
    for _ in range(3):
        result = host.run("mirrorctl check")
        LAST_CHECK[:] = [result.stdout + result.stderr]
        if "not delivered" not in result.stdout:
            break
    return result.rc


def sync(host, pid: str) -> int:
    return host.run("mirrorctl sync %s", pid).rc


def test_timers_and_settings_are_installed(host):
    assert host.service("speculum-check.timer").is_enabled
    assert UPSTREAM.service("speculum-watch.timer").is_enabled
    urls = host.file("/etc/speculum/monitor/notify-urls")
    assert urls.mode == 0o600 and urls.user == "root"
    assert json.loads(host.file("/etc/speculum/monitor.json").content_string)["https_names"] == [
        "speculum-molecule-mirror"]


def test_a_healthy_host_passes_every_check(host):
    result = host.run("mirrorctl check --all --no-notify --json")
    checks = json.loads(result.stdout)["checks"]
    failing = [c for c in checks if c["state"] in ("fail", "warn")]
    assert result.rc == 0 and not failing, failing
    names = {(c["subject"], c["check"]) for c in checks}
    assert {("host/http", "http"), ("host/https", "https"), ("host/certificate", "certificate"),
            ("host/disk", "disk"), ("host/units", "units"), ("archlinux", "freshness")} <= names
    # the check service itself runs in its sandbox as the sync user
    host.check_output("systemctl start speculum-check.service")
    assert host.file("/var/lib/speculum/monitor/checks.json").user == "mirror"  # speculum_sync_user


def test_upstream_down_alerts_once_then_recovers_once(host):
    start = len(messages())
    UPSTREAM.check_output("systemctl stop rsync.service")
    assert sync(host, "archlinux") != 0
    assert check(host) == 3, LAST_CHECK
    assert new_since(start) == []  # one failing run is below the threshold
    assert sync(host, "archlinux") != 0
    assert check(host) == 3
    alerts = about(new_since(start), "archlinux")
    assert len(alerts) == 1
    assert alerts[0].startswith("[ALERT]") and MENTION in alerts[0]
    assert "last run failed" in alerts[0]
    assert check(host) == 3  # still failing: no second message
    assert len(new_since(start)) == 1

    UPSTREAM.check_output("systemctl start rsync.service")
    assert sync(host, "archlinux") == 0
    assert check(host) == 0
    sent = about(new_since(start), "archlinux")
    assert len(sent) == 2 and sent[1].startswith("[RECOVERED]")
    assert MENTION not in sent[1]
    assert check(host) == 0
    assert len(new_since(start)) == 2


def test_stale_upstream_marker_warns_once_then_recovers_once(host):
    start = len(messages())
    stale = int(time.time()) - 5 * 86400
    UPSTREAM.check_output("echo %s > %s", str(stale), MARKER)
    assert sync(host, "archlinux") == 0
    assert host.file("/srv/mirror/archlinux/lastsync").content_string.strip() == str(stale)
    assert check(host) == 0, LAST_CHECK  # a warning, not a failure
    assert new_since(start) == []
    assert check(host) == 0, LAST_CHECK
    alerts = about(new_since(start), "archlinux")
    assert len(alerts) == 1 and alerts[0].startswith("[ALERT]")
    assert "upstream has stalled" in alerts[0]
    assert MENTION not in alerts[0]  # not our fault: nobody is paged
    assert check(host) == 0, LAST_CHECK
    assert len(new_since(start)) == 1

    UPSTREAM.check_output("date +%%s > %s", MARKER)
    assert sync(host, "archlinux") == 0
    assert host.file("/srv/mirror/archlinux/lastsync").content_string.strip() != str(stale)
    assert check(host) == 0, LAST_CHECK
    sent = about(new_since(start), "archlinux")
    assert len(sent) == 2 and sent[1].startswith("[RECOVERED]"), (sent, LAST_CHECK)


def test_watchdog_alerts_when_nginx_stops(host):
    start = len(messages())
    url = "http://speculum-molecule-mirror/"
    host.check_output("systemctl stop nginx.service")
    try:
        for _ in range(3):
            UPSTREAM.run("systemctl start speculum-watch.service")
        alerts = about(new_since(start), url)
        assert len(alerts) == 1 and alerts[0].startswith("[ALERT] watchdog")
        assert "does not answer" in alerts[0]
    finally:
        host.check_output("systemctl start nginx.service")
    UPSTREAM.run("systemctl start speculum-watch.service")
    sent = about(new_since(start), url)
    assert len(sent) == 2 and sent[1].startswith("[RECOVERED] watchdog")


def test_metrics_of_syncs_and_checks(host):
    sync_prom = host.file("/var/lib/speculum/metrics/sync-archlinux.prom").content_string
    assert re.search(r'^speculum_sync_exit_code\{project="archlinux"\} 0$', sync_prom, re.M)
    assert re.search(r'^speculum_sync_last_success_timestamp_seconds\{project="archlinux"\} \d+$',
                     sync_prom, re.M)
    check_prom = host.file("/var/lib/speculum/metrics/check.prom").content_string
    assert re.search(r'^speculum_freshness_lag_seconds\{project="archlinux"\} [\d.]+$', check_prom, re.M)
    assert re.search(r'^speculum_check_state\{check="http",subject="host/http"\} 0$', check_prom, re.M)


def test_node_exporter_serves_the_textfile_metrics(host):
    assert host.service("prometheus-node-exporter").is_running
    scrape = host.check_output("python3 -c %s", "import urllib.request; print(urllib.request.urlopen("
                               "'http://127.0.0.1:9100/metrics').read().decode())")
    assert re.search(r'^speculum_sync_exit_code\{project="archlinux"\} 0$', scrape, re.M)
    assert re.search(r'^speculum_check_state\{check="http",subject="host/http"\} 0$', scrape, re.M)
    assert 'node_textfile_scrape_error 0' in scrape


def test_status_shows_the_check_results(host):
    host.check_output("systemctl start speculum-check.service")
    out = host.check_output("mirrorctl status")
    assert "health" in out.splitlines()[0]
    assert "host/http" in out
