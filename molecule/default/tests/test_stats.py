"""Usage statistics on the host: requests made to nginx show up in the store
after the ingester's service runs, counted per project and client family."""

import json

STORE = "/var/lib/speculum/stats/stats.sqlite"
REQUESTS = 7
FETCH = """\
import sys, urllib.request
for _ in range(int(sys.argv[1])):
    request = urllib.request.Request("http://localhost/debian/project/trace/master",
                                     headers={"User-Agent": "Debian APT-HTTP/1.3 (2.6.1)"})
    urllib.request.urlopen(request).read()
"""


def report(host):
    return json.loads(host.check_output("mirrorctl stats report --store %s --json", STORE))


def test_ingester_timer_is_active(host):
    timer = host.service("speculum-stats.timer")
    assert timer.is_enabled and timer.is_running


def test_requests_show_up_in_the_statistics(host):
    host.check_output("systemctl start speculum-stats.service")
    before = report(host)["projects"].get("debian", {}).get("families", {}).get("apt", {}).get("requests", 0)
    host.check_output("python3 -c %s %s", FETCH, str(REQUESTS))
    host.check_output("systemctl start speculum-stats.service")
    debian = report(host)["projects"]["debian"]
    assert debian["families"]["apt"]["requests"] == before + REQUESTS
    assert debian["status"]["2xx"] >= REQUESTS


def test_ingester_runs_unprivileged_and_stores_no_addresses(host):
    show = host.check_output("systemctl show -p User -p Result speculum-stats.service")
    assert "User=speculum-stats" in show and "Result=success" in show
    store = host.file(STORE)
    assert store.user == "speculum-stats" and not store.mode & 0o022
    assert host.run("grep -c -a -e 127.0.0.1 -e ::1 %s", STORE).stdout.strip() in ("", "0")
