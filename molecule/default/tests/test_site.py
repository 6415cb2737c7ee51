"""The generated web site on the converged, synced host: units, pages, feed,
API (validated against the published schemas), and a sync showing up on the
status page and in the API within a minute.
"""

import base64
import json
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from lxml import etree

from speculum import config as runtime_config

ROOT = Path(__file__).resolve().parents[3]
DB = yaml.safe_load((ROOT / "group_vars/all/projects.yml").read_text())["speculum_projects"]
RUNTIME = runtime_config.build(DB)
ENABLED = sorted(p for p, r in RUNTIME["projects"].items() if r["enabled"])
DISABLED = sorted(p for p, r in RUNTIME["projects"].items() if not r["enabled"])
SCHEMAS = ROOT / "src/speculum/site/api"
SITE_NAME = yaml.safe_load((ROOT / "group_vars/all/site.yml").read_text())["speculum_site_name"]


# The host has no curl: its python3 fetches, and answers in JSON.
FETCH = """\
import base64, json, sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen("http://localhost" + sys.argv[1])
except urllib.error.HTTPError as e:
    r = e
print(json.dumps([r.getcode(), str(r.headers), base64.b64encode(r.read()).decode()]))
"""


def get(host, path):
    """(status, headers text in lower case, body bytes) of GET http://localhost<path> on the host."""
    code, headers, body = json.loads(host.check_output("python3 -c %s %s", FETCH, path))
    return code, headers.lower(), base64.b64decode(body)


def validate(document, name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(document)


@pytest.mark.parametrize("unit", ["speculum-site.timer", "speculum-site.path"])
def test_generator_triggers_are_active(host, unit):
    service = host.service(unit)
    assert service.is_enabled
    assert service.is_running


def test_generator_ran_cleanly(host):
    out = host.check_output("systemctl show -p Result -p ExecMainStatus speculum-site.service")
    assert "Result=success" in out and "ExecMainStatus=0" in out


def test_web_root_belongs_to_the_generator_and_has_no_leftovers(host):
    root = host.file("/var/www/speculum")
    assert root.user == "speculum-site" and root.mode == 0o755
    leftovers = host.check_output("find /var/www/speculum -name '.*' ! -name .speculum-site.json")
    assert leftovers == ""  # no temporary files of interrupted writes


def test_home_page_names_the_site_and_lists_every_enabled_project(host):
    code, headers, body = get(host, "/")
    assert code == 200 and "content-type: text/html" in headers
    text = body.decode()
    assert SITE_NAME in text
    for pid in ENABLED:
        assert f'href="/projects/{pid}/"' in text
    for pid in DISABLED:
        assert f"/projects/{pid}/" not in text


def test_home_page_weighs_under_100_kb(host):
    total = sum(len(get(host, path)[2]) for path in ("/", "/static/site.css", "/static/site.js"))
    assert total < 100_000


@pytest.mark.parametrize("pid", ENABLED)
def test_every_enabled_project_has_a_page(host, pid):
    code, _, body = get(host, f"/projects/{pid}/")
    assert code == 200
    assert RUNTIME["projects"][pid]["name"] in body.decode()


@pytest.mark.parametrize("pid", DISABLED)
def test_disabled_projects_have_no_page(host, pid):
    assert get(host, f"/projects/{pid}/")[0] == 404


def test_debian_page_shows_the_apt_line_with_this_host(host):
    text = get(host, "/projects/debian/")[2].decode()
    # the scenario serves HTTPS (speculum_site_https_url): the instructions use it
    assert "deb https://speculum-molecule-mirror/debian/ bookworm main" in text


def test_status_json_is_tunasync_shaped_and_reflects_the_syncs(host):
    code, headers, body = get(host, "/api/v1/status.json")
    assert code == 200 and "access-control-allow-origin: *" in headers
    records = json.loads(body)
    validate(records, "status")
    by_name = {r["name"]: r for r in records}
    assert sorted(by_name) == ENABLED
    assert by_name["debian"]["status"] == "success"  # the side effect synced it


def test_mirrorz_json_validates(host):
    code, _, body = get(host, "/mirrorz.json")
    assert code == 200
    document = json.loads(body)
    validate(document, "mirrorz")
    assert sorted(m["cname"] for m in document["mirrors"]) == ENABLED


@pytest.mark.parametrize("name", ["projects", "disk", "news"])
def test_other_api_documents_validate(host, name):
    code, _, body = get(host, f"/api/v1/{name}.json")
    assert code == 200
    validate(json.loads(body), name)


def test_atom_feed_validates(host):
    code, headers, body = get(host, "/news/atom.xml")
    assert code == 200 and "application/atom+xml" in headers
    schema = etree.RelaxNG(etree.parse(str(ROOT / "tests/data/atom.rng")))
    feed = etree.fromstring(body)
    assert schema.validate(feed), schema.error_log
    assert feed.findall("{http://www.w3.org/2005/Atom}entry")  # the repository's news posts


def test_a_finished_sync_shows_on_the_site_within_a_minute(host):
    def software():
        return next(r for r in json.loads(get(host, "/api/v1/status.json")[2]) if r["name"] == "software")

    before = software()["last_ended_ts"]
    time.sleep(1.1)  # a new run ends in a later second
    host.check_output("systemctl start speculum-sync-software.service")
    deadline = time.monotonic() + 60
    while software()["last_ended_ts"] == before:
        assert time.monotonic() < deadline, "status.json still shows the previous run after 60 s"
        time.sleep(2)
    ended = software()["last_ended"]
    assert ended[:16].replace(" ", "T") in get(host, "/status/")[2].decode().replace(" ", "T")
