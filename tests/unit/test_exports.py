"""Export formats: json, mirmon, mirrorz, tunasync, csv, markdown (speculum.exports)."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from urllib.parse import urlsplit

import pytest

from speculum import config, exports, status

T0 = 1_700_000_000  # a fixed "now" for hand-made status records

SITE = {
    "name": "Speculum Mirror",
    "hostname": "mirror.example.edu",
    "http_url": "http://mirror.example.edu/",
    "https_url": "https://mirror.example.edu/",
    "rsync_url": "rsync://mirror.example.edu/",
    "operator": "Example University Open Source Club",
    "contact": "mirror-admin@example.edu",
}

# tunasync's /jobs record (WebMirrorStatus), written out here on purpose: the test
# must fail if the module's own list drifts from it.
TUNASYNC_KEYS = {"name", "is_master", "status", "last_update", "last_update_ts",
                 "last_started", "last_started_ts", "last_ended", "last_ended_ts",
                 "next_schedule", "next_schedule_ts", "upstream", "size"}
DOCUMENTED_EXTRAS = {"size_bytes"}

MIRRORZ_MIRROR_KEYS = {"cname", "desc", "url", "status", "help", "upstream", "size", "disable"}
MIRRORZ_STATUS = re.compile(r"(?:[A-Z]\d*)+")
MIRRORZ_MAIN = set("SDYFPCRU")


@pytest.fixture
def projects(lab_db) -> dict:
    return config.settle(lab_db)[1]


@pytest.fixture
def enabled(projects) -> list[str]:
    return sorted(pid for pid, p in projects.items() if p["enabled"])


def record(project: dict, state: str, **times: int) -> dict:
    """A status record as the runner writes it: status word + stamped times."""
    rec = status.new_record(project)
    rec["status"] = state
    for key, when in times.items():
        status.stamp(rec, key, when)
    return rec


@pytest.fixture
def statuses(projects) -> dict:
    debian = record(projects["debian"], status.SUCCESS, last_started=T0 - 600,
                    last_ended=T0, last_update=T0, next_schedule=T0 + 21600)
    debian.update(size="1.2G", size_bytes=1_288_490_188, is_master=True)
    return {
        "debian": debian,
        "archlinux": record(projects["archlinux"], status.FAILED, last_started=T0 - 900,
                            last_ended=T0 - 300, last_update=T0 - 7200,
                            next_schedule=T0 + 7200),
        "software": record(projects["software"], status.SYNCING, last_started=T0 - 60,
                           last_ended=T0 - 10800, last_update=T0 - 10800),
        "releases": record(projects["releases"], status.PRE_SYNCING),
        # private-software and docs have no record
    }


def run(projects, fmt, statuses=None, **kwargs) -> str:
    return exports.export(projects, fmt, site=kwargs.pop("site", SITE), statuses=statuses,
                          **kwargs)


# --- common -------------------------------------------------------------------------------------

def test_formats_are_the_documented_six():
    assert exports.FORMATS == ("json", "mirmon", "mirrorz", "tunasync", "csv", "markdown")


@pytest.mark.parametrize("fmt", ["yaml", "JSON", "", None])
def test_unknown_format_names_the_known_ones(projects, fmt):
    with pytest.raises(ValueError) as info:
        run(projects, fmt)
    for known in exports.FORMATS:
        assert known in str(info.value)


def test_lab_database_has_a_disabled_centos(projects):
    # the include_disabled tests below rely on it
    assert projects["centos"]["enabled"] is False


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_output_is_deterministic_whatever_the_input_order(projects, statuses, fmt):
    reversed_projects = dict(reversed(list(projects.items())))
    reversed_statuses = dict(reversed(list(statuses.items())))
    assert run(projects, fmt, statuses) == run(reversed_projects, fmt, reversed_statuses)
    assert run(projects, fmt, statuses).endswith("\n")


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_export_leaves_its_inputs_alone(projects, statuses, fmt):
    before = copy.deepcopy((projects, statuses, SITE))
    run(projects, fmt, statuses, include_disabled=True)
    assert (projects, statuses, SITE) == before


@pytest.mark.parametrize("bad", [{}, {"http_url": "ftp://x/"}, "http://x/"])
def test_site_without_an_http_url_is_refused(projects, bad):
    with pytest.raises(ValueError, match="site"):
        exports.export(projects, "json", site=bad)


def test_site_from_the_ansible_variables(repo):
    import yaml

    variables = yaml.safe_load((repo / "group_vars/all/site.yml").read_text())
    variables["speculum_site_http_url"] = "http://mirror.example.edu/"  # the template, rendered
    site = exports.site_from_vars(variables)
    assert site == {"name": "Speculum Mirror", "hostname": "mirror.example.edu",
                    "http_url": "http://mirror.example.edu/",
                    "operator": "Example University Open Source Club",
                    "contact": "mirror-admin@example.edu", "https_url": "", "rsync_url": "",
                    "country": "US", "abbr": ""}


# --- json -------------------------------------------------------------------------------------

def test_json_lists_every_enabled_project_only(projects, enabled):
    data = json.loads(run(projects, "json"))
    assert [r["id"] for r in data] == enabled
    assert "centos" not in {r["id"] for r in data}


def test_json_round_trips_to_the_normalised_records(projects, enabled):
    data = json.loads(run(projects, "json"))
    for rec in data:
        expected = copy.deepcopy(projects[rec["id"]])
        expected.pop("comments", None)
        if "upstream" in expected["sync"]:
            expected["sync"]["upstream"] = exports.public_upstream(expected["sync"])
        for key in ("user", "password_secret", "env"):
            expected["sync"].pop(key, None)
        expected["url"] = f"https://mirror.example.edu/{rec['id']}/"
        assert rec == expected


def test_protected_upstreams_are_published_as_their_host_in_every_format(projects):
    for fmt in exports.FORMATS:
        text = run(projects, fmt)
        assert "rsync://lab-upstream/private/" not in text, fmt
    assert projects["private-software"]["sync"]["upstream"] == "rsync://lab-upstream/private/"  # untouched


def test_json_leaves_out_the_admin_log_and_credentials(projects):
    assert projects["debian"]["comments"]  # the lab database has some
    assert projects["private-software"]["sync"]["password_secret"]
    text = run(projects, "json")
    data = {r["id"]: r for r in json.loads(text)}
    assert "comments" not in data["debian"]
    assert "password_secret" not in data["private-software"]["sync"]
    assert "user" not in data["private-software"]["sync"]
    assert projects["debian"]["comments"][0] not in text
    assert "lab_private_rsync_password" not in text


def test_json_url_is_http_without_an_https_url(projects):
    site = {k: v for k, v in SITE.items() if k != "https_url"}
    data = json.loads(run(projects, "json", site=site))
    assert {r["url"] for r in data} == {f"http://mirror.example.edu/{r['id']}/" for r in data}


# --- mirmon -----------------------------------------------------------------------------------

def mirmon_lines(text: str) -> list[tuple[str, str, str]]:
    lines = []
    for line in text.splitlines():
        fields = line.split()
        assert len(fields) == 3, line
        lines.append(tuple(fields))
    return lines


def test_mirmon_lines_are_type_url_email(projects, enabled):
    lines = mirmon_lines(run(projects, "mirmon"))
    expected = set()
    for pid in enabled:
        expected |= {f"http://mirror.example.edu/{pid}/", f"https://mirror.example.edu/{pid}/"}
        if projects[pid]["public_rsync"]:
            expected.add(f"rsync://mirror.example.edu/{pid}/")
    assert [url for _, url, _ in lines] == sorted(expected, key=lambda u: (
        urlsplit(u).path, ["http", "https", "rsync"].index(urlsplit(u).scheme)))
    assert {email for _, _, email in lines} == {"mirror-admin@example.edu"}
    assert {kind for kind, _, _ in lines} == {"zz"}  # .edu is no country code


def test_mirmon_rsync_only_for_public_rsync_projects(projects):
    urls = [url for _, url, _ in mirmon_lines(run(projects, "mirmon"))]
    assert projects["private-software"]["public_rsync"] is False
    assert "rsync://mirror.example.edu/private-software/" not in urls
    assert "http://mirror.example.edu/private-software/" in urls
    assert "rsync://mirror.example.edu/debian/" in urls


def test_mirmon_serves_only_configured_protocols(projects, enabled):
    site = {k: v for k, v in SITE.items() if k not in ("https_url", "rsync_url")}
    urls = [url for _, url, _ in mirmon_lines(run(projects, "mirmon", site=site))]
    assert urls == [f"http://mirror.example.edu/{pid}/" for pid in enabled]


def test_mirmon_country_code(projects):
    site = dict(SITE, hostname="mirror.example.de")
    assert {k for k, _, _ in mirmon_lines(run(projects, "mirmon", site=site))} == {"de"}
    site = dict(SITE, country="NL")
    assert {k for k, _, _ in mirmon_lines(run(projects, "mirmon", site=site))} == {"nl"}


def test_mirmon_never_lists_disabled_projects(projects):
    text = run(projects, "mirmon", include_disabled=True)
    assert "/centos/" not in text
    assert text == run(projects, "mirmon")


# --- mirrorz ----------------------------------------------------------------------------------

def mirrorz(projects, statuses=None, **kwargs) -> dict:
    return json.loads(run(projects, "mirrorz", statuses, **kwargs))


def main_statuses(text: str) -> list[str]:
    assert MIRRORZ_STATUS.fullmatch(text), text
    return [part[0] for part in re.findall(r"[A-Z]\d*", text) if part[0] in MIRRORZ_MAIN]


def test_mirrorz_document(projects, statuses, enabled):
    doc = mirrorz(projects, statuses)
    assert doc["version"] == 1.7
    assert set(doc) == {"version", "site", "info", "mirrors"}
    site = doc["site"]
    assert site["url"] == "https://mirror.example.edu"  # no trailing slash
    assert site["abbr"] == "EXAMPLE"
    assert site["name"] == "Speculum Mirror"
    assert site["email"] == "mirror-admin@example.edu"
    assert "Example University Open Source Club" in site["note"]
    assert doc["info"] == []
    assert [m["cname"] for m in doc["mirrors"]] == enabled
    for mirror in doc["mirrors"]:
        assert set(mirror) == MIRRORZ_MIRROR_KEYS
        assert mirror["url"] == "/" + mirror["cname"]
        assert mirror["disable"] is False
        assert mirror["desc"] == projects[mirror["cname"]]["description"]
        assert mirror["upstream"] == exports.public_upstream(projects[mirror["cname"]]["sync"])
        assert len(main_statuses(mirror["status"])) == 1  # one main status, README rule


def test_mirrorz_status_encodes_state_and_times(projects, statuses):
    by_id = {m["cname"]: m for m in mirrorz(projects, statuses)["mirrors"]}
    assert by_id["debian"]["status"] == f"S{T0}X{T0 + 21600}"
    assert by_id["debian"]["size"] == "1.2G"
    assert by_id["archlinux"]["status"] == f"F{T0 - 300}O{T0 - 7200}X{T0 + 7200}"
    assert by_id["software"]["status"] == f"Y{T0 - 60}O{T0 - 10800}"
    assert by_id["releases"]["status"] == "D"
    assert by_id["private-software"]["status"] == "U"  # no record
    assert by_id["private-software"]["size"] == ""
    assert by_id["docs"]["status"] == "U"


def test_mirrorz_status_without_times(projects):
    bare = {pid: record(projects[pid], word) for pid, word in
            [("debian", status.SUCCESS), ("archlinux", status.FAILED),
             ("software", status.SYNCING)]}
    by_id = {m["cname"]: m["status"] for m in mirrorz(projects, bare)["mirrors"]}
    assert (by_id["debian"], by_id["archlinux"], by_id["software"]) == ("S", "F", "Y")


def test_mirrorz_disabled_project_is_paused_and_disabled(projects, statuses):
    centos = record(projects["centos"], status.SUCCESS, last_ended=T0 - 86400,
                    last_update=T0 - 86400, next_schedule=T0 + 60)
    doc = mirrorz(projects, dict(statuses, centos=centos), include_disabled=True)
    by_id = {m["cname"]: m for m in doc["mirrors"]}
    assert by_id["centos"]["disable"] is True
    assert by_id["centos"]["status"] == f"P{T0 - 86400}"  # no X: it is not scheduled
    assert by_id["debian"]["disable"] is False


def test_mirrorz_abbr_and_extra_site_keys(projects):
    site = dict(SITE, abbr="SPEC", logo="https://mirror.example.edu/logo.svg",
                big="/speedtest/100mb.bin")
    doc = mirrorz(projects, site=site)
    assert doc["site"]["abbr"] == "SPEC"
    assert doc["site"]["logo"] == "https://mirror.example.edu/logo.svg"
    assert doc["site"]["big"] == "/speedtest/100mb.bin"


# --- tunasync ---------------------------------------------------------------------------------

def test_tunasync_records_have_exactly_the_tunasync_fields(projects, statuses, enabled):
    data = json.loads(run(projects, "tunasync", statuses))
    assert [r["name"] for r in data] == enabled
    for rec in data:
        assert TUNASYNC_KEYS <= set(rec)
        assert set(rec) - TUNASYNC_KEYS <= DOCUMENTED_EXTRAS
    assert set(exports.TUNASYNC_FIELDS) == TUNASYNC_KEYS
    assert set(exports.TUNASYNC_EXTRAS) == DOCUMENTED_EXTRAS


def test_tunasync_values_come_from_the_statuses(projects, statuses):
    data = {r["name"]: r for r in json.loads(run(projects, "tunasync", statuses))}
    debian, source = data["debian"], statuses["debian"]
    for key in TUNASYNC_KEYS - {"name"}:
        assert debian[key] == source[key], key
    assert debian["last_update_ts"] == T0
    assert debian["last_update"] == "2023-11-14 22:13:20 +0000"  # tunasync's text format
    assert debian["size_bytes"] == 1_288_490_188
    assert data["archlinux"]["status"] == "failed"
    assert data["archlinux"]["last_ended_ts"] == T0 - 300
    assert data["software"]["status"] == "syncing"
    assert data["releases"]["status"] == "pre-syncing"


def test_tunasync_project_without_a_record(projects, statuses):
    data = {r["name"]: r for r in json.loads(run(projects, "tunasync", statuses))}
    private = data["private-software"]
    assert private["status"] == "none"
    for key in ("last_update", "last_started", "last_ended", "next_schedule"):
        assert private[key] == ""
        assert private[key + "_ts"] == 0
    assert private["upstream"] == "lab-upstream"  # password-protected: the host only
    assert private["size"] == "unknown"
    assert private["is_master"] is True


def test_tunasync_upstream_comes_from_the_database(projects, statuses):
    stale = dict(statuses, debian=dict(statuses["debian"], upstream="rsync://old/debian/"))
    data = {r["name"]: r for r in json.loads(run(projects, "tunasync", stale))}
    assert data["debian"]["upstream"] == "rsync://lab-upstream/debian/"


# --- csv --------------------------------------------------------------------------------------

CSV_HEADER = ["id", "name", "category", "official", "enabled", "method", "upstream",
              "syncs_per_day", "url", "status", "last_update"]


def test_csv_rows(projects, statuses, enabled):
    reader = csv.DictReader(io.StringIO(run(projects, "csv", statuses), newline=""))
    assert reader.fieldnames == CSV_HEADER
    rows = list(reader)
    assert [r["id"] for r in rows] == enabled
    for row in rows:
        project = projects[row["id"]]
        assert row["name"] == project["name"]
        assert row["category"] == project["category"]
        assert row["official"] == ("true" if project["official"] else "false")
        assert row["enabled"] == "true"
        assert row["method"] == project["sync"]["method"]
        assert row["upstream"] == exports.public_upstream(project["sync"])
        assert int(row["syncs_per_day"]) == project["sync"]["syncs_per_day"]
        assert row["url"] == f"https://mirror.example.edu/{row['id']}/"
    by_id = {r["id"]: r for r in rows}
    assert (by_id["debian"]["status"], by_id["debian"]["last_update"]) == (
        "success", statuses["debian"]["last_update"])
    assert by_id["archlinux"]["status"] == "failed"
    assert (by_id["docs"]["status"], by_id["docs"]["last_update"]) == ("none", "")
    assert by_id["docs"]["syncs_per_day"] == "0"


def test_csv_quotes_awkward_text(projects):
    projects["debian"]["name"] = 'Debian, "the universal OS"'
    rows = list(csv.DictReader(io.StringIO(run(projects, "csv"), newline="")))
    assert {r["id"]: r for r in rows}["debian"]["name"] == 'Debian, "the universal OS"'


# --- markdown ---------------------------------------------------------------------------------

TABLE_HEADER = "| Project | Description | Upstream | Syncs per day | Status |"


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line.replace("\\\\", "")))


def test_markdown_one_table_per_category(projects, statuses, enabled):
    text = run(projects, "markdown", statuses)
    lines = text.splitlines()
    categories = sorted({projects[pid]["category"] for pid in enabled})
    assert [line[3:] for line in lines if line.startswith("## ")] == categories
    assert lines.count(TABLE_HEADER) == len(categories)
    for index, line in enumerate(lines):
        if line.startswith("## "):  # heading, blank line, table header, separator
            assert lines[index + 2] == TABLE_HEADER
            assert lines[index + 3] == "|---|---|---|---|---|"
    rows = [line for line in lines if line.startswith("| [")]
    assert len(rows) == len(enabled)
    for pid in enabled:
        link = f"[{projects[pid]['name']}](https://mirror.example.edu/{pid}/)"
        assert sum(link in row for row in rows) == 1


def test_markdown_categories_sorted_by_name_not_by_project_id(projects):
    projects["software"]["category"] = "Archives"  # a late id in an early category
    headings = [line[3:] for line in run(projects, "markdown").splitlines()
                if line.startswith("## ")]
    assert headings == ["Archives", "Distributions", "Miscellaneous", "Software"]


def test_markdown_rows_under_their_category(projects, enabled):
    category = None
    for line in run(projects, "markdown").splitlines():
        if line.startswith("## "):
            category = line[3:]
        match = re.match(r"\| \[[^\]]+\]\(https://mirror\.example\.edu/([^/]+)/\)", line)
        if match:
            assert projects[match.group(1)]["category"] == category


def test_markdown_cells(projects, statuses):
    rows = {re.search(r"edu/([^/]+)/\)", line).group(1): line
            for line in run(projects, "markdown", statuses).splitlines()
            if line.startswith("| [")}
    cells = [c.strip() for c in rows["debian"].strip("|").split(" | ")]
    assert cells[1] == projects["debian"]["description"]
    assert cells[2] == "lab-upstream"
    assert cells[3] == "4"
    assert cells[4] == f"success, {statuses['debian']['last_update']}"
    assert rows["docs"].split(" | ")[3] == "static"
    assert rows["private-software"].rstrip().endswith("|  |")  # status unknown: empty


def test_markdown_escapes_pipes(projects):
    projects["debian"]["description"] = "apt | dpkg \\ and more"
    projects["archlinux"]["name"] = "Arch [Linux] | x"
    text = run(projects, "markdown")
    assert "apt \\| dpkg \\\\ and more" in text
    assert "[Arch \\[Linux\\] \\| x](https://mirror.example.edu/archlinux/)" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert unescaped_pipes(line) == 6, line


# --- include_disabled ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, ids", [
    ("json", lambda t: [r["id"] for r in json.loads(t)]),
    ("tunasync", lambda t: [r["name"] for r in json.loads(t)]),
    ("mirrorz", lambda t: [m["cname"] for m in json.loads(t)["mirrors"]]),
    ("csv", lambda t: [r["id"] for r in csv.DictReader(io.StringIO(t, newline=""))]),
    ("markdown", lambda t: re.findall(r"^\| \[.*?\]\(https://mirror\.example\.edu/([^/]+)/\)",
                                      t, re.M)),
])
def test_include_disabled_adds_centos(projects, enabled, fmt, ids):
    assert sorted(ids(run(projects, fmt))) == enabled
    assert sorted(ids(run(projects, fmt, include_disabled=True))) == sorted(enabled + ["centos"])


def test_disabled_project_status_is_disabled(projects):
    data = {r["name"]: r for r in json.loads(run(projects, "tunasync", include_disabled=True))}
    assert data["centos"]["status"] == "disabled"
    rows = {r["id"]: r for r in csv.DictReader(
        io.StringIO(run(projects, "csv", include_disabled=True), newline=""))}
    assert (rows["centos"]["enabled"], rows["centos"]["status"]) == ("false", "disabled")
