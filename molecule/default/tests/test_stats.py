"""Usage statistics on the host: requests made to nginx show up in the store
after the ingester's service runs, counted per project and client family, and
then on the stats page and in /api/v1/stats/; vnstat records the interface."""

import json
import time

from test_site import get, validate

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


def summary(host) -> dict:
    code, _headers, body = get(host, "/api/v1/stats/summary.json")
    assert code == 200
    return json.loads(body)


def debian_requests(doc: dict) -> int:
    return next((p["requests"] for p in doc["projects"] if p["id"] == "debian"), 0)


def test_requests_show_up_in_the_statistics_page_and_api(host):
    host.check_output("systemctl start speculum-stats.service")
    before = report(host)["projects"].get("debian", {}).get("families", {}).get("apt", {}).get("requests", 0)
    before_api = debian_requests(summary(host))
    host.check_output("python3 -c %s %s", FETCH, str(REQUESTS))
    host.check_output("systemctl start speculum-stats.service")
    debian = report(host)["projects"]["debian"]
    assert debian["families"]["apt"]["requests"] == before + REQUESTS
    assert debian["status"]["2xx"] >= REQUESTS
    # the export rewrote the site's input: the path unit rebuilds the site
    deadline = time.monotonic() + 60
    while debian_requests(doc := summary(host)) < before_api + REQUESTS and time.monotonic() < deadline:
        time.sleep(2)
    assert debian_requests(doc) >= before_api + REQUESTS
    validate(doc, "stats-summary")
    assert doc["totals"]["families"]["apt"]["requests"] >= REQUESTS
    code, _headers, page = get(host, "/stats/")
    assert code == 200 and b"<svg" in page and b'href="/projects/debian/"' in page
    assert f"{debian_requests(doc):,}".encode() in page


def test_vnstat_records_the_public_interface(host):
    assert host.service("vnstat").is_running
    host.check_output("systemctl restart vnstat")  # writes its cache to the database
    host.check_output("systemctl start speculum-stats.service")
    doc = json.loads(host.check_output("cat /var/lib/speculum/stats/export.json"))
    assert doc["bandwidth_error"] == "" and doc["bandwidth"]["interface"]
    hours = doc["bandwidth"]["hours"]
    assert len(hours) == 24 and hours[-1]["rx"] is not None  # the current hour is recorded
    deadline = time.monotonic() + 60
    while True:
        code, _headers, body = get(host, "/api/v1/stats/bandwidth.json")
        bandwidth = json.loads(body)
        if bandwidth["interface"] or time.monotonic() > deadline:
            break
        time.sleep(2)
    validate(bandwidth, "stats-bandwidth")
    assert code == 200 and bandwidth["interface"] == doc["bandwidth"]["interface"]


def test_ingester_runs_unprivileged_and_stores_no_addresses(host):
    show = host.check_output("systemctl show -p User -p Result speculum-stats.service")
    assert "User=speculum-stats" in show and "Result=success" in show
    store = host.file(STORE)
    assert store.user == "speculum-stats" and not store.mode & 0o022
    assert host.run("grep -c -a -e 127.0.0.1 -e ::1 %s", STORE).stdout.strip() in ("", "0")
