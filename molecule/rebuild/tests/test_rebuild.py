"""Host B, built in place of the lost host A and restored from A's backup,
holds A's state: statistics, sync history, vnStat history, the news record
and the certificate (served, with the CA down). Its backups go on, and a
wrong password or an unreachable repository fails loudly, alerts through
the monitor and deletes no snapshot."""

import json
import os
import re
from pathlib import Path

import pytest
import testinfra

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
A = json.loads((EPHEMERAL / "host-a.json").read_text())
REBUILD = json.loads((EPHEMERAL / "rebuild.json").read_text())
BUILD_A = json.loads((EPHEMERAL / "build-a.json").read_text())
SCRIPT = (Path(__file__).parent.parent / "fingerprint.py").read_text()
VAULT = testinfra.get_host("podman://speculum-rebuild-vault")
NAME = "speculum-rebuild-mirror"
PASSWORD = "/etc/speculum/backup/password"


@pytest.fixture(scope="module")
def b(host):
    return json.loads(host.check_output("python3 -c %s", SCRIPT))


@pytest.fixture(scope="module", autouse=True)
def checks_paused(host):
    """Only the tests run the checks, so that they can count alerts."""
    host.check_output("systemctl stop speculum-check.timer")
    yield
    host.run("systemctl start speculum-check.timer")


def test_b_is_a_new_host_and_the_rebuild_time_is_recorded():
    assert REBUILD["container"] != A["container"]
    print(f"empty host to restored host: {REBUILD['seconds']} s "
          f"(host A, built from empty without a restore: {BUILD_A['seconds']} s)")
    assert 0 < BUILD_A["seconds"] < 1800 and 0 < REBUILD["seconds"] < 1800


def test_the_statistics_are_a_s(b):
    assert A["projects"]["debian"]["requests"] >= 7 and A["projects"]["archlinux"]["requests"] >= 5
    assert b["projects"] == A["projects"]


def test_the_sync_history_is_a_s(b):
    assert set(b["history"]) == set(A["history"]) and A["history"]
    for pid, runs in A["history"].items():
        assert len(runs) >= 2, pid
        assert b["history"][pid][:len(runs)] == runs, pid  # new runs may follow, none is lost


def test_vnstat_keeps_a_s_history(b):
    assert b["vnstat"]["created"] == A["vnstat"]["created"]
    assert b["vnstat"]["rx"] >= A["vnstat"]["rx"] > 0


def test_the_news_record_is_a_s(b):
    assert A["news_sent"] and b["news_sent"] == A["news_sent"]
    assert "2026-11-21-welcome" in json.dumps(A["news_sent"])


def test_the_certificate_is_a_s_and_no_ca_was_asked(host, b):
    assert A["cert_serial"] and b["cert_serial"] == A["cert_serial"]
    served = host.check_output(
        "openssl s_client -connect 127.0.0.1:443 -servername %s </dev/null 2>/dev/null "
        "| openssl x509 -noout -serial", NAME)
    assert served == A["cert_serial"]
    # the CA was down from before B existed, and certbot never issued a second certificate
    assert host.check_output("ls /etc/letsencrypt/archive/%s", NAME).split() == \
        ["cert1.pem", "chain1.pem", "fullchain1.pem", "privkey1.pem"]


def test_the_stats_page_shows_a_s_downloads(host):
    export = json.loads(host.check_output("cat /var/lib/speculum/stats/export.json"))
    debian = [p for p in export["projects"] if p["id"] == "debian"]
    assert debian and debian[0]["requests"] == A["projects"]["debian"]["requests"]
    page = host.check_output("python3 -c %s", "import urllib.request; "
                             "print(urllib.request.urlopen('http://127.0.0.1/stats/').read().decode())")
    # the projects table: <tr><th><a href="/projects/debian/">…</a></th> <td class="num">REQUESTS</td>…
    rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if 'href="/projects/debian/"' in r]
    assert rows and re.search(rf'<td class="num">{A["projects"]["debian"]["requests"]}</td>', rows[0]), rows


def test_the_services_run_and_the_timers_are_scheduled(host):
    for unit in ("nginx.service", "vnstat.service"):
        assert host.service(unit).is_running, unit
    for timer in ("speculum-backup.timer", "speculum-stats.timer", "speculum-site.timer", "speculum-check.timer",
                  "speculum-sync-debian.timer", "certbot.timer"):
        if timer != "speculum-check.timer":  # paused by the tests, see checks_paused
            assert host.service(timer).is_running, timer
        # sync timers are pulled in by speculum-sync.target rather than enabled one by one
        if "sync-" not in timer:
            assert host.service(timer).is_enabled, timer
    assert host.service("speculum-sync.target").is_enabled


def snapshots(host) -> int:
    return len(json.loads(host.check_output("mirrorctl backup snapshots --json")))


def backup(host):
    return host.run("systemctl start speculum-backup.service")


def status(host) -> dict:
    return json.loads(host.run("mirrorctl backup status --json").stdout)  # exit 3 after a failed run


def test_b_backs_up_after_its_restore(host):
    restored = status(host)["restored"]
    before = snapshots(host)
    assert backup(host).rc == 0
    assert snapshots(host) == before + 1
    after = status(host)
    assert after["last_run"]["ok"] and after["restored"] == restored


def alerts_about_backup() -> list[str]:
    out = VAULT.run("cat /var/lib/discord-sink/messages.jsonl")
    contents = [json.loads(json.loads(line)["body"])["content"] for line in out.stdout.splitlines() if line]
    return [c for c in contents if "host/backup" in c.splitlines()[0]]


def check(host) -> str:
    result = host.run("mirrorctl check")
    if "not delivered" in result.stdout:
        result = host.run("mirrorctl check")
    return result.stdout


@pytest.mark.parametrize("break_it", ["password", "unreachable"])
def test_a_broken_repository_fails_loudly_alerts_once_and_deletes_nothing(host, break_it):
    count, seen = snapshots(host), len(alerts_about_backup())
    if break_it == "password":
        good = host.check_output("cat %s", PASSWORD)
        host.check_output("echo wrong-password > %s", PASSWORD)
    else:
        VAULT.check_output("systemctl stop ssh.service ssh.socket")
    try:
        failed = backup(host)
        assert failed.rc != 0
        last = status(host)["last_run"]
        assert last["ok"] is False and last["kind"] == break_it, last
        journal = host.check_output("journalctl -u speculum-backup.service -n 20 --no-pager")
        assert "backup run failed" in journal
        check(host)
        assert len(alerts_about_backup()) == seen  # the threshold is two runs
        out = check(host)
        new = alerts_about_backup()[seen:]
        assert len(new) == 1 and new[0].startswith("[ALERT]"), (new, out)
        assert re.search("password is wrong" if break_it == "password" else "cannot be reached", new[0]), new[0]
    finally:
        if break_it == "password":
            host.check_output("printf '%%s\\n' %s > %s", good, PASSWORD)
        else:
            VAULT.check_output("systemctl start ssh.service")
    assert snapshots(host) == count  # no older snapshot was deleted
    assert backup(host).rc == 0
    check(host)
    recovered = alerts_about_backup()[seen + 1:]
    assert len(recovered) == 1 and recovered[0].startswith("[RECOVERED]"), recovered
