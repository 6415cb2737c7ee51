"""The JSON API (speculum.site.api): every file validates against its schema,
the schemas catch broken documents, private fields never leak, and the
project database alone decides what is listed."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import site_inputs as si
from jsonschema import Draft202012Validator, FormatChecker

from speculum import exports, schema, status
from speculum.site import api

SCHEMA_DIR = Path(api.__file__).with_name("api")
DOCS = {  # output path -> its schema
    "api/v1/projects.json": "projects",
    "api/v1/status.json": "status",
    "api/v1/disk.json": "disk",
    "api/v1/news.json": "news",
    "mirrorz.json": "mirrorz",
    "api/v1/stats/summary.json": "stats-summary",
    "api/v1/stats/daily.json": "stats-daily",
    "api/v1/stats/bandwidth.json": "stats-bandwidth",
}
SERVED = set(DOCS) | {"api/v1/openapi.json"} | {f"api/v1/schemas/{n}.schema.json" for n in api.SCHEMAS}
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

# Admin-only values planted in the database copy of ``leaky_db``.
PLANTED = {"admin": "Alice Adminova", "admin_email": "alice.adminova@example.edu",
           "env": "hunter2-in-the-environment"}


def format_checker() -> FormatChecker:
    """jsonschema's checker with date-time and uri checks that need no extra package."""
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def date_time(value) -> bool:
        if not isinstance(value, str):
            return True
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value))

    @checker.checks("uri")
    def uri(value) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)

    return checker


def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), format_checker=format_checker())


def errors(name: str, doc) -> list[str]:
    return [e.message for e in validator(name).iter_errors(doc)]


def render(db: dict | None = None, **changes) -> dict[str, bytes]:
    return api.render_api(**{**si.inputs(db), **changes})


def docs(files: dict[str, bytes]) -> dict[str, object]:
    return {path: json.loads(files[path]) for path in DOCS}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return render()


@pytest.fixture
def leaky_db(lab_db) -> dict:
    """The lab database with every admin-only field filled in."""
    lab_db["debian"].update(admin=PLANTED["admin"], admin_email=PLANTED["admin_email"])
    lab_db["releases"]["sync"]["env"] = {"API_TOKEN": PLANTED["env"]}
    return lab_db


def strings(node) -> list[str]:
    """Every key and string value of a JSON document."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [k, *strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


# --- schemas ----------------------------------------------------------------------

@pytest.mark.parametrize("name", api.SCHEMAS)
def test_schemas_are_valid_draft_2020_12(name):
    doc = load_schema(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(f"/api/v1/schemas/{name}.schema.json")


def test_files_are_the_documented_set(files):
    assert set(files) == SERVED


def test_schemas_and_openapi_are_served_unchanged(files):
    assert files["api/v1/openapi.json"] == (SCHEMA_DIR / "openapi.json").read_bytes()
    for name in api.SCHEMAS:
        assert files[f"api/v1/schemas/{name}.schema.json"] == (SCHEMA_DIR / f"{name}.schema.json").read_bytes()


@pytest.mark.parametrize("path", DOCS)
def test_every_file_validates_against_its_schema(files, path):
    assert errors(DOCS[path], json.loads(files[path])) == []


def test_enums_match_the_code():
    project = load_schema("projects")["$defs"]
    assert project["usage"]["properties"]["type"]["enum"] == list(schema.USAGE_TYPES)
    assert project["sync"]["properties"]["method"]["enum"] == list(schema.METHODS)
    words = {status.NONE, status.PRE_SYNCING, status.SYNCING, status.SUCCESS, status.FAILED,
             status.DISABLED, "paused"}
    assert set(load_schema("status")["$defs"]["job"]["properties"]["status"]["enum"]) == words
    assert set(project["project"]["properties"]["status"]["enum"]) == words


# --- the schemas reject broken documents ------------------------------------------

def test_status_schema_rejects_broken_records(files):
    good = json.loads(files["api/v1/status.json"])
    assert errors("status", good) == []
    for breakage in (
        lambda r: r.pop("upstream"),
        lambda r: r.update(status="ok"),
        lambda r: r.update(last_update="2026-11-21T10:00:00Z"),  # RFC 3339, not tunasync's format
        lambda r: r.update(last_update_ts="1795255200"),
        lambda r: r.update(size_bytes=-1),
        lambda r: r.update(comments=["leak"]),
        lambda r: r.update(name="Not An Id"),
    ):
        broken = copy.deepcopy(good)
        breakage(broken[0])
        assert errors("status", broken), broken[0]
    assert errors("status", {"jobs": good})


def test_projects_schema_rejects_private_and_malformed_fields(files):
    good = json.loads(files["api/v1/projects.json"])
    for breakage in (
        lambda d: d["projects"][0].update(comments=["admin log"]),
        lambda d: d["projects"][0]["sync"].update(user="speculum"),
        lambda d: d["projects"][0]["sync"].update(upstream="rsync://host/module/"),
        lambda d: d["projects"][0].update(last_update="2026-11-21 10:00:00 +0000"),
        lambda d: d["projects"][0].update(url="mirror.example.edu/debian"),
        lambda d: d["projects"][0]["usage"].update(type="brew"),
        lambda d: d["projects"][0].pop("status"),
        lambda d: d.update(generated="yesterday"),
        lambda d: d.update(version=2),
    ):
        broken = copy.deepcopy(good)
        breakage(broken)
        assert errors("projects", broken)


def test_disk_and_news_schemas_reject_broken_documents(files):
    disk = json.loads(files["api/v1/disk.json"])
    assert errors("disk", {**disk, "used_bytes": -5})
    assert errors("disk", {**disk, "used_percent": 120})
    assert errors("disk", {k: v for k, v in disk.items() if k != "path"})
    news = json.loads(files["api/v1/news.json"])
    post = news["posts"][0]
    assert errors("news", {**news, "posts": [{**post, "date": "20 Nov 2026"}]})
    assert errors("news", {**news, "posts": [{**post, "url": "/news/x/"}]})
    assert errors("news", {**news, "posts": [{**post, "source": "markdown"}]})


@pytest.mark.parametrize("text", [
    "U", "D", "C", "R", "S", "S1600000000", "S1612195849X1612196849N", "Y1600000000O1599990000X1600003600",
    "F1600000000O1599990000", "P1600000000", "N1600000000S1600000000", "D1600000000",
])
def test_mirrorz_status_pattern_accepts_the_documented_encoding(text):
    pattern = load_schema("mirrorz")["$defs"]["mirror"]["properties"]["status"]["pattern"]
    assert re.search(pattern, text)


@pytest.mark.parametrize("text", [
    "", "SY", "S1F2", "X1600000000", "O1", "UX", "C1600000000", "s1600000000", "S-1", "S1 ", "Z", "OK",
])
def test_mirrorz_status_pattern_rejects_everything_else(text):
    pattern = load_schema("mirrorz")["$defs"]["mirror"]["properties"]["status"]["pattern"]
    assert not re.search(pattern, text)


def test_mirrorz_schema_rejects_broken_documents(files):
    good = json.loads(files["mirrorz.json"])
    for breakage in (
        lambda d: d["site"].pop("abbr"),
        lambda d: d["site"].update(url="https://mirror.example.edu/"),
        lambda d: d["mirrors"][0].update(status="SY"),
        lambda d: d["mirrors"][0].pop("cname"),
        lambda d: d["mirrors"][0].update(url="/debian/"),
        lambda d: d["mirrors"][0].update(disable="no"),
        lambda d: d.update(info=[{"distro": "Debian"}]),
        lambda d: d.pop("mirrors"),
        lambda d: d.update(version="1.7"),
    ):
        broken = copy.deepcopy(good)
        breakage(broken)
        assert errors("mirrorz", broken)
    tolerant = copy.deepcopy(good)  # keys of other format versions are allowed
    tolerant["site"]["maintenance"] = False
    tolerant["mirrors"][0]["extra"] = "from a later version"
    assert errors("mirrorz", tolerant) == []


# --- content ------------------------------------------------------------------------

def enabled_ids(db: dict) -> list[str]:
    return sorted(pid for pid, p in db.items() if p.get("enabled"))


def test_status_json_is_the_tunasync_export(files, lab_db):
    inputs = si.inputs()
    expected = exports.export(inputs["config"]["projects"], "tunasync",
                              site=inputs["site"], statuses=inputs["statuses"])
    assert files["api/v1/status.json"] == expected.encode()
    jobs = json.loads(files["api/v1/status.json"])
    assert [job["name"] for job in jobs] == enabled_ids(lab_db)
    for job in jobs:
        assert set(job) == set(exports.TUNASYNC_FIELDS) | set(exports.TUNASYNC_EXTRAS)
        for key in ("last_update", "last_started", "last_ended", "next_schedule"):
            assert (job[key] == "") == (job[f"{key}_ts"] == 0), (job["name"], key)


def test_projects_json(files, lab_db):
    doc = json.loads(files["api/v1/projects.json"])
    assert doc["version"] == 1 and doc["generated"] == "2026-11-21T12:00:00Z"
    assert doc["site"] == {"name": si.SITE["name"], "url": "http://mirror.example.edu/",
                           "https_url": "https://mirror.example.edu/",
                           "rsync_url": "rsync://mirror.example.edu/"}
    by_id = {p["id"]: p for p in doc["projects"]}
    assert list(by_id) == enabled_ids(lab_db)
    debian = by_id["debian"]
    assert debian["url"] == "https://mirror.example.edu/debian/"
    assert debian["rsync_url"] == "rsync://mirror.example.edu/debian/"
    assert debian["usage"] == {"type": "apt", "suites": ["bookworm"], "components": ["main"]}
    assert debian["sync"] == {"method": "rsync", "syncs_per_day": 4, "upstream_host": "lab-upstream"}
    assert debian["status"] == "success" and debian["size_bytes"] == 1_288_490_188
    assert debian["last_update"] == "2026-11-21T10:00:00Z"
    assert debian["page"] == "/projects/debian/" and debian["official"] is True
    assert by_id["private-software"]["rsync_url"] is None  # public_rsync: false
    assert by_id["docs"]["sync"] == {"method": "static", "syncs_per_day": 0, "upstream_host": None}
    assert by_id["docs"]["usage"] == {"type": "files"}
    assert by_id["docs"]["status"] == "none" and by_id["docs"]["last_update"] is None
    jobs = {job["name"]: job for job in json.loads(files["api/v1/status.json"])}
    for pid, project in by_id.items():
        assert project["status"] == jobs[pid]["status"]
        assert project["size_bytes"] == jobs[pid]["size_bytes"]


def test_http_only_site_without_rsync(lab_db):
    site = {**si.inputs()["site"], "https_url": "", "rsync_url": ""}
    doc = json.loads(render(site=site)["api/v1/projects.json"])
    assert errors("projects", doc) == []
    assert doc["site"]["https_url"] is None and doc["site"]["rsync_url"] is None
    assert {p["url"] for p in doc["projects"]} == {f"http://mirror.example.edu/{pid}/"
                                                   for pid in enabled_ids(lab_db)}
    assert {p["rsync_url"] for p in doc["projects"]} == {None}


def test_mirrorz_json(files, lab_db):
    doc = json.loads(files["mirrorz.json"])
    assert doc["version"] == exports.MIRRORZ_VERSION
    assert doc["site"]["url"] == "https://mirror.example.edu" and doc["site"]["abbr"] == "EXAMPLE"
    assert doc["site"]["disk"] == "2.3T/3.6T"
    mirrors = {m["cname"]: m for m in doc["mirrors"]}
    assert list(mirrors) == enabled_ids(lab_db)
    ts = si.NOW_TS
    assert mirrors["debian"]["status"] == f"S{ts - 7200}X{ts + 4 * 3600}"
    assert mirrors["archlinux"]["status"] == f"F{ts - 3600 + 30}O{ts - 30 * 3600}X{ts + 3600}"
    assert mirrors["software"]["status"] == f"Y{ts - 60}O{ts - 5 * 3600}"
    assert mirrors["docs"]["status"] == "U"
    assert all(m["url"] == "/" + m["cname"] for m in doc["mirrors"])


def test_disk_json(files):
    doc = json.loads(files["api/v1/disk.json"])
    assert doc["used_percent"] == 62.5 and doc["used_inodes"] == 50_000_000
    assert doc["path"] == "/srv/mirror" and doc["measured"] == "2026-11-21T12:00:00Z"


def test_unmeasured_disk_is_null(files):
    out = render(disk=None)
    doc = json.loads(out["api/v1/disk.json"])
    assert errors("disk", doc) == []
    assert doc["total_bytes"] is None and doc["used_percent"] is None
    assert "disk" not in json.loads(out["mirrorz.json"])["site"]


def test_news_json_newest_first(tmp_path):
    (tmp_path / "2026-11-21-later.md").write_text("Title: Später\n\nZweiter **Beitrag**.\n", encoding="utf-8")
    out = render(posts=si.posts(tmp_path))
    doc = json.loads(out["api/v1/news.json"])
    assert errors("news", doc) == []
    assert [p["slug"] for p in doc["posts"]] == ["2026-11-21-later", "2026-11-20-welcome"]
    later, welcome = doc["posts"]
    assert later["title"] == "Später" and later["author"] == "" and later["date"] == "2026-11-21T00:00:00Z"
    assert welcome["date"] == "2026-11-20T09:30:00Z" and welcome["author"] == "The mirror team"
    assert welcome["url"] == "https://mirror.example.edu/news/2026-11-20-welcome/"
    assert "<strong>Speculum</strong>" in welcome["html"] and welcome["summary"]
    assert "Später".encode() in out["api/v1/news.json"]  # UTF-8, not \u escapes


# --- the database alone decides ---------------------------------------------------------

def listed(files: dict[str, bytes]) -> dict[str, set[str]]:
    doc = docs(files)
    return {"projects": {p["id"] for p in doc["api/v1/projects.json"]["projects"]},
            "status": {job["name"] for job in doc["api/v1/status.json"]},
            "mirrorz": {m["cname"] for m in doc["mirrorz.json"]["mirrors"]}}


def test_a_project_added_to_the_database_is_listed_everywhere_and_goes_when_removed(lab_db):
    db = copy.deepcopy(lab_db)
    db["gnu"] = {"name": "GNU", "category": "Software", "description": "GNU software releases",
                 "enabled": True, "sync": {"method": "rsync", "upstream": "rsync://ftp.example.org/gnu/",
                                           "syncs_per_day": 2}}
    added = render(db)
    for path, doc in docs(added).items():
        assert errors(DOCS[path], doc) == [], path
    assert all("gnu" in ids for ids in listed(added).values())
    gnu = next(p for p in docs(added)["api/v1/projects.json"]["projects"] if p["id"] == "gnu")
    assert gnu["url"] == "https://mirror.example.edu/gnu/" and gnu["status"] == "none"
    removed = render(lab_db)
    assert all("gnu" not in ids for ids in listed(removed).values())
    assert listed(removed) == {key: set(enabled_ids(lab_db)) for key in ("projects", "status", "mirrorz")}


def test_disabled_projects_are_not_listed(files, lab_db):
    assert not lab_db["centos"]["enabled"]
    assert all("centos" not in ids for ids in listed(files).values())


# --- privacy ------------------------------------------------------------------------------

def test_no_private_field_leaks(leaky_db):
    out = render(leaky_db)
    blob = b"\n".join(out.values())
    private = leaky_db["private-software"]["sync"]
    secrets = [*PLANTED.values(), private["password_secret"], "password_secret",
               private["upstream"], "lab-upstream/private",
               "SPECULUM_TARGET", "--delete-delay"]  # the releases script's command line
    secrets += [comment for project in leaky_db.values() for comment in project.get("comments", [])]
    for secret in secrets:
        assert secret.encode() not in blob, secret
    for path, doc in docs(out).items():
        words = strings(doc)
        assert private["user"] not in words, path  # "speculum" as a value
        for key in ("comments", "admin", "admin_email", "user", "env", "command", "password_secret",
                    "stages", "schedule", "verify"):
            assert key not in words, (path, key)


def test_protected_upstream_is_cut_to_its_host(files):
    jobs = {job["name"]: job for job in json.loads(files["api/v1/status.json"])}
    mirrors = {m["cname"]: m for m in json.loads(files["mirrorz.json"])["mirrors"]}
    assert jobs["private-software"]["upstream"] == mirrors["private-software"]["upstream"] == "lab-upstream"
    assert jobs["debian"]["upstream"] == mirrors["debian"]["upstream"] == "rsync://lab-upstream/debian/"


# --- determinism ----------------------------------------------------------------------------

def test_output_is_deterministic(files):
    again = render()
    assert again == files
    for path in ("api/v1/projects.json", "api/v1/disk.json", "api/v1/news.json"):
        doc = json.loads(files[path])
        assert files[path] == (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    for doc in docs(files).values():
        if isinstance(doc, dict) and "generated" in doc:
            assert RFC3339_UTC.fullmatch(doc["generated"]) and doc["generated"] == "2026-11-21T12:00:00Z"


def test_non_ascii_text_is_utf8(lab_db):
    lab_db["debian"]["description"] = "Das universelle Betriebssystem — 通用操作系统"
    out = render(lab_db)
    text = lab_db["debian"]["description"].encode()
    assert text in out["api/v1/projects.json"] and text in out["mirrorz.json"]


# --- OpenAPI ---------------------------------------------------------------------------------

def test_openapi_describes_every_document(files):
    doc = json.loads(files["api/v1/openapi.json"])
    assert doc["openapi"].startswith("3.1.")
    paths = doc["paths"]
    assert set(paths) == {"/" + p for p in DOCS} | {"/news/atom.xml"}
    for path, name in DOCS.items():
        content = paths["/" + path]["get"]["responses"]["200"]["content"]
        assert content == {"application/json": {"schema": {"$ref": f"schemas/{name}.schema.json"}}}
        # relative to /api/v1/openapi.json, the reference names the served schema file
        assert f"api/v1/schemas/{name}.schema.json" in files
    assert "application/atom+xml" in paths["/news/atom.xml"]["get"]["responses"]["200"]["content"]


def test_openapi_document_is_valid(files, tmp_path):
    validator_mod = pytest.importorskip("openapi_spec_validator")
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    spec_path = tmp_path / "api/v1/openapi.json"
    validator_mod.validate(json.loads(spec_path.read_bytes()), base_uri=spec_path.as_uri())
