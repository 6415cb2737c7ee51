"""The project database schema: validation, normalisation, reference docs."""

from __future__ import annotations

import copy
import re

import pytest

from speculum import schema
from speculum.schema import ValidationError, markdown_reference, normalize, validate


def rsync_project(**sync) -> dict:
    """A minimal valid rsync project; ``sync`` overrides/extends its sync mapping."""
    record = {"name": "Example", "sync": {"method": "rsync", "upstream": "rsync://up.example.org/ex/"}}
    record["sync"].update(sync)
    return record


def only_error(db, pid: str, field: str, secrets=None) -> ValidationError:
    """The one error of ``db``; it must name ``pid`` and ``field``."""
    errors = validate(db, secrets)
    matching = [e for e in errors if e.project == pid and e.field == field]
    assert matching, f"no error for project {pid!r} field {field!r} in {[str(e) for e in errors]}"
    error = matching[0]
    text = str(error)
    assert f"project '{pid}'" in text
    if field:
        assert f"field '{field}'" in text
    return error


# --- the lab database ----------------------------------------------------------------

def test_lab_database_is_valid(lab_db, lab_secrets):
    assert validate(lab_db, lab_secrets) == []
    assert validate(lab_db) == []


def test_lab_database_normalizes(lab_db):
    out = normalize(lab_db)
    assert set(out) == set(lab_db)
    assert all(out[pid]["id"] == pid for pid in out)


# --- one broken field at a time ------------------------------------------------------------

def test_unknown_field_has_did_you_mean_hint():
    record = rsync_project()
    record["homepge"] = "https://example.org/"
    error = only_error({"ex": record}, "ex", "homepge")
    assert "unknown field" in str(error)
    assert "did you mean 'homepage'" in str(error)


def test_unknown_sync_field_has_did_you_mean_hint():
    error = only_error({"ex": rsync_project(syncs_per_dya=4)}, "ex", "sync.syncs_per_dya")
    assert "did you mean 'syncs_per_day'" in str(error)


def test_unknown_field_without_close_match_has_no_hint():
    record = rsync_project()
    record["zzzzzz"] = 1
    error = only_error({"ex": record}, "ex", "zzzzzz")
    assert "unknown field" in str(error)
    assert "did you mean" not in str(error)


def test_rsync_needs_upstream():
    record = rsync_project()
    del record["sync"]["upstream"]
    error = only_error({"ex": record}, "ex", "sync.upstream")
    assert "required" in str(error)


def test_stage_as_one_shell_string_is_rejected():
    db = {"ex": rsync_project(stages=["--exclude=Packages* --exclude=Sources*"])}
    error = only_error(db, "ex", "sync.stages")
    assert "argv list" in str(error)
    assert "[--exclude=Packages*, --exclude=Sources*]" in str(error)


def test_stages_as_one_string_is_rejected():
    error = only_error({"ex": rsync_project(stages="--exclude=/iso/")}, "ex", "sync.stages")
    assert "argv list" in str(error)


@pytest.mark.parametrize("stages", [[], [[""]], [[1]], [None]])
def test_malformed_stages_are_rejected(stages):
    only_error({"ex": rsync_project(stages=stages)}, "ex", "sync.stages")


def test_syncs_per_day_zero_is_rejected():
    error = only_error({"ex": rsync_project(syncs_per_day=0)}, "ex", "sync.syncs_per_day")
    assert "between 1 and 288" in str(error)


@pytest.mark.parametrize("value", [289, -1, True, "4", 2.0])
def test_syncs_per_day_out_of_range_or_not_integer(value):
    only_error({"ex": rsync_project(syncs_per_day=value)}, "ex", "sync.syncs_per_day")


def test_syncs_per_day_not_dividing_a_day_suggests_neighbours():
    errors = validate({"ex": rsync_project(syncs_per_day=7)})
    assert len(errors) == 1
    error = only_error({"ex": rsync_project(syncs_per_day=7)}, "ex", "sync.syncs_per_day")
    assert "6 or 8" in str(error)


@pytest.mark.parametrize("per_day", [d for d in range(1, 289) if 1440 % d == 0])
def test_every_divisor_of_a_day_is_a_valid_syncs_per_day(per_day):
    assert validate({"ex": rsync_project(syncs_per_day=per_day)}) == []


def test_quoted_pattern_is_rejected_with_the_unquoted_form():
    db = {"ex": rsync_project(stages=[["--exclude='Packages*'"]])}
    error = only_error(db, "ex", "sync.stages")
    assert "quotes" in str(error)
    assert "'--exclude=Packages*'" in str(error)


def test_double_quoted_pattern_is_rejected():
    only_error({"ex": rsync_project(stages=[['--exclude="Packages*"']])}, "ex", "sync.stages")


@pytest.mark.parametrize("option", ["--delete", "--delete-after", "--delete-excluded", "--del",
                                    "--inplace", "--max-delete=5", "--max-delete",
                                    "--password-file=x", "--append", "--ignore-errors",
                                    "--remove-source-files"])
@pytest.mark.parametrize("where", ["first", "last"])
def test_forbidden_stage_options(option, where):
    stages = [[option], []] if where == "first" else [[], ["--exclude=/iso/", option]]
    error = only_error({"ex": rsync_project(stages=stages)}, "ex", "sync.stages")
    assert "not allowed" in str(error)
    assert repr(option) in str(error)


@pytest.mark.parametrize("option", ["--exclude=Packages*", "--include=*/", "--exclude=/iso/",
                                    "--bwlimit=10m", "--delay-updates", "--filter=P /x"])
def test_ordinary_stage_options_are_accepted(option):
    assert validate({"ex": rsync_project(stages=[[option], []])}) == []


def test_syncs_per_day_and_interval_together():
    error = only_error({"ex": rsync_project(syncs_per_day=4, interval="6h")}, "ex", "sync.interval")
    assert "either" in str(error)


@pytest.mark.parametrize("interval", ["7h", "5h", "90s", "1m", "48h", "7m"])
def test_interval_not_dividing_a_day(interval):
    error = only_error({"ex": rsync_project(interval=interval)}, "ex", "sync.interval")
    assert repr(interval) in str(error)


@pytest.mark.parametrize("interval", ["5m", "15m", "1h", "3h", "6h", "24h", "1d", 3600])
def test_interval_dividing_a_day_is_accepted(interval):
    assert validate({"ex": rsync_project(interval=interval)}) == []


@pytest.mark.parametrize("interval", ["soon", "", "6 hours", 0, -5, True])
def test_interval_that_is_not_a_duration(interval):
    only_error({"ex": rsync_project(interval=interval)}, "ex", "sync.interval")


def test_bad_timeout_duration():
    error = only_error({"ex": rsync_project(timeout="soon")}, "ex", "sync.timeout")
    assert "'soon'" in str(error)


def test_password_secret_without_user():
    error = only_error({"ex": rsync_project(password_secret="ex_password")}, "ex", "sync.user")
    assert "password_secret" in str(error)


def test_password_secret_naming_a_missing_key():
    db = {"ex": rsync_project(user="speculum", password_secret="ex_password")}
    assert validate(db) == []  # without secrets, the name is not checked
    assert validate(db, {"ex_password": "s3cret"}) == []
    error = only_error(db, "ex", "sync.password_secret", secrets={"other": "x"})
    assert "'ex_password'" in str(error)


def test_password_secret_must_be_a_name_not_a_password():
    db = {"ex": rsync_project(user="speculum", password_secret="hunter 2!")}
    only_error(db, "ex", "sync.password_secret")


@pytest.mark.parametrize("pid", ["Debian", "-debian", "deb/ian", "a" * 65, "_debian", "deb ian", "deb.ian"])
def test_invalid_project_ids(pid):
    errors = validate({pid: rsync_project()})
    assert len(errors) == 1
    assert errors[0].project == pid
    assert f"project '{pid}'" in str(errors[0])
    assert "project id" in str(errors[0])


@pytest.mark.parametrize("pid", [None, 2024, ""])
def test_empty_or_non_string_project_ids(pid):
    errors = validate({pid: rsync_project()})
    assert len(errors) == 1
    assert "project id" in str(errors[0])


@pytest.mark.parametrize("pid", ["debian", "a", "0ad", "ubuntu-releases", "lab_private", "a" * 64])
def test_valid_project_ids(pid):
    assert validate({pid: rsync_project()}) == []


@pytest.mark.parametrize("record", ["Debian", ["name", "sync"], 42])
def test_record_that_is_not_a_mapping(record):
    errors = validate({"debian": record})
    assert len(errors) == 1
    assert errors[0].project == "debian"
    assert "project 'debian'" in str(errors[0])
    assert "mapping" in str(errors[0])


def test_record_without_name_and_sync():
    errors = validate({"ex": {}})
    assert {(e.project, e.field) for e in errors} == {("ex", "name"), ("ex", "sync")}


def test_sync_that_is_not_a_mapping():
    record = rsync_project()
    record["sync"] = "rsync://up.example.org/ex/"
    error = only_error({"ex": record}, "ex", "sync")
    assert "mapping" in str(error)


@pytest.mark.parametrize("projects", [None, [], ["debian"], "debian"])
def test_database_that_is_not_a_mapping(projects):
    errors = validate(projects)
    assert len(errors) == 1
    assert errors[0].field == "speculum_projects"
    assert "field 'speculum_projects'" in str(errors[0])
    assert str(errors[0]).startswith("project database")


@pytest.mark.parametrize("field,value", [("syncs_per_day", 4), ("interval", "6h"),
                                         ("stages", [[]]), ("timeout", "1h"), ("max_delete", 10),
                                         ("command", ["/bin/true"])])
def test_static_method_rejects_sync_fields(field, value):
    db = {"ex": {"name": "Ex", "sync": {"method": "static", field: value}}}
    error = only_error(db, "ex", f"sync.{field}")
    assert "static" in str(error)


def test_static_method_alone_is_valid():
    assert validate({"ex": {"name": "Ex", "sync": {"method": "static"}}}) == []


def test_script_without_command():
    db = {"ex": {"name": "Ex", "sync": {"method": "script", "syncs_per_day": 1}}}
    error = only_error(db, "ex", "sync.command")
    assert "required" in str(error)


def test_script_command_as_one_string():
    db = {"ex": {"name": "Ex", "sync": {"method": "script", "command": "/usr/bin/foo --bar"}}}
    error = only_error(db, "ex", "sync.command")
    assert "argv list" in str(error)


def test_script_with_stages():
    db = {"ex": {"name": "Ex", "sync": {"method": "script", "command": ["/bin/true"],
                                        "stages": [[]]}}}
    only_error(db, "ex", "sync.stages")


@pytest.mark.parametrize("field,value", [("command", ["/bin/true"]), ("env", {"A": "1"})])
def test_rsync_with_script_fields(field, value):
    error = only_error({"ex": rsync_project(**{field: value})}, "ex", f"sync.{field}")
    assert "script" in str(error)


def test_unknown_method():
    error = only_error({"ex": {"name": "Ex", "sync": {"method": "git"}}}, "ex", "sync.method")
    assert "rsync, script, static" in str(error)


@pytest.mark.parametrize("upstream", ["http://up.example.org/ex/", "rsync://up.example.org/",
                                      "up.example.org", 42])
def test_bad_upstream(upstream):
    only_error({"ex": rsync_project(upstream=upstream)}, "ex", "sync.upstream")


@pytest.mark.parametrize("field,value", [
    ("homepage", "www.example.org"),
    ("homepage", "ftp://example.org/"),
    ("homepage", "https://exa mple.org/"),
    ("alternative", "mirror.example.org/debian"),
    ("admin_email", "admin"),
    ("admin_email", "admin@localhost"),
    ("admin_email", "a b@example.org"),
    ("enabled", "yes"),
    ("enabled", 1),
    ("official", "true"),
    ("public_rsync", 0),
    ("name", ""),
    ("name", 42),
    ("comments", "one comment"),
    ("comments", ["ok", 3]),
])
def test_bad_project_field_values(field, value):
    record = rsync_project()
    record[field] = value
    only_error({"ex": record}, "ex", field)


@pytest.mark.parametrize("verify,field", [
    ({"file": "/etc/passwd", "format": "unix"}, "verify.file"),
    ({"file": "../other/lastsync", "format": "unix"}, "verify.file"),
    ({"file": "lastsync", "format": "iso"}, "verify.format"),
    ({"file": "lastsync"}, "verify.format"),
    ("lastsync", "verify"),
])
def test_bad_verify(verify, field):
    record = rsync_project()
    record["verify"] = verify
    only_error({"ex": record}, "ex", field)


@pytest.mark.parametrize("env", [{"lower": "x"}, {"A": 1}, ["A=1"]])
def test_bad_script_env(env):
    db = {"ex": {"name": "Ex", "sync": {"method": "script", "command": ["/bin/true"], "env": env}}}
    only_error(db, "ex", "sync.env")


def test_all_errors_reported_at_once_and_sorted():
    typo = rsync_project()
    typo["descripton"] = "typo"
    db = {
        "zeta": rsync_project(syncs_per_day=7),
        "alpha": typo,
        "mid": {"name": "Mid", "sync": {"method": "script"}},
        "beta": rsync_project(stages=[["--delete"]], password_secret="beta_pw"),
        "fine": rsync_project(),
    }
    errors = validate(db, secrets={})
    assert errors == sorted(errors)
    assert [(e.project, e.field) for e in errors] == [
        ("alpha", "descripton"),
        ("beta", "sync.password_secret"),
        ("beta", "sync.stages"),
        ("beta", "sync.user"),
        ("mid", "sync.command"),
        ("zeta", "sync.syncs_per_day"),
    ]
    with pytest.raises(ValueError) as raised:
        normalize(db)
    message = str(raised.value)
    # normalize validates without secrets: five errors, each on its own line
    assert message.startswith("5 errors in the project database:")
    for pid in ("alpha", "beta", "mid", "zeta"):
        assert f"project '{pid}'" in message
    assert "project 'fine'" not in message


def test_format_errors_singular():
    errors = validate({"ex": rsync_project(syncs_per_day=0)})
    assert schema.format_errors(errors).startswith("1 error in the project database:\n  - project 'ex'")


def test_validate_does_not_modify_the_database(lab_db):
    before = copy.deepcopy(lab_db)
    validate(lab_db)
    normalize(lab_db, {"timeout": 60, "max_delete": 5})
    assert lab_db == before


# --- normalize -----------------------------------------------------------------------------------

def test_normalize_fills_defaults():
    out = normalize({"ex": rsync_project(upstream="rsync://UP.Example.org/ex")},
                    {"timeout": "2h", "max_delete": 123})
    project = out["ex"]
    assert project["id"] == "ex"
    assert project["enabled"] is False
    assert project["official"] is False
    assert project["public_rsync"] is True
    assert project["category"] == "Software"
    assert project["comments"] == []
    assert project["verify"] is None
    sync = project["sync"]
    assert sync["stages"] == [[]]
    assert sync["timeout"] == 7200
    assert sync["max_delete"] == 123
    assert sync["syncs_per_day"] == 4
    assert sync["upstream"] == "rsync://up.example.org/ex/"
    assert sync["upstream_host"] == "up.example.org"
    assert "interval" not in sync


def test_normalize_without_site_defaults():
    sync = normalize({"ex": rsync_project()})["ex"]["sync"]
    assert sync["timeout"] == 6 * 3600
    assert sync["max_delete"] == 4000
    assert sync["syncs_per_day"] == 4


def test_normalize_default_syncs_per_day_from_site():
    sync = normalize({"ex": rsync_project()}, {"syncs_per_day": 24})["ex"]["sync"]
    assert sync["syncs_per_day"] == 24


def test_normalize_keeps_project_values():
    record = rsync_project(timeout="1h30m", max_delete=0, syncs_per_day=12,
                           stages=[["--exclude=Packages*"], []])
    record.update(enabled=True, official=True, public_rsync=False, category="Distributions")
    project = normalize({"ex": record}, {"timeout": 60, "max_delete": 9})["ex"]
    assert (project["enabled"], project["official"], project["public_rsync"]) == (True, True, False)
    assert project["category"] == "Distributions"
    assert project["sync"]["timeout"] == 5400
    assert project["sync"]["max_delete"] == 0
    assert project["sync"]["syncs_per_day"] == 12
    assert project["sync"]["stages"] == [["--exclude=Packages*"], []]


@pytest.mark.parametrize("interval,per_day", [("6h", 4), ("3h", 8), ("24h", 1), ("5m", 288),
                                              ("1h", 24), ("90m", 16), (3600, 24)])
def test_normalize_interval_to_syncs_per_day(interval, per_day):
    sync = normalize({"ex": rsync_project(interval=interval)})["ex"]["sync"]
    assert sync["syncs_per_day"] == per_day
    assert "interval" not in sync


def test_normalize_static_project():
    project = normalize({"ex": {"name": "Ex", "enabled": True,
                                "sync": {"method": "static"}}})["ex"]
    assert project["sync"]["syncs_per_day"] == 0
    assert "stages" not in project["sync"]
    assert "interval" not in project["sync"]


def test_normalize_script_project_has_no_stages():
    sync = normalize({"ex": {"name": "Ex", "sync": {
        "method": "script", "command": ["/bin/true"],
        "upstream": "host::mod/sub"}}})["ex"]["sync"]
    assert "stages" not in sync
    assert sync["command"] == ["/bin/true"]
    assert sync["upstream"] == "rsync://host/mod/sub/"
    assert sync["upstream_host"] == "host"
    assert sync["timeout"] == 6 * 3600


def test_normalize_default_lists_are_not_shared():
    out = normalize({"a": rsync_project(), "b": rsync_project()})
    out["a"]["sync"]["stages"][0].append("--exclude=x")
    out["a"]["comments"].append("x")
    assert out["b"]["sync"]["stages"] == [[]]
    assert out["b"]["comments"] == []
    comments = next(f for f in schema.PROJECT_FIELDS if f.name == "comments")
    assert comments.default == []  # the schema's default itself is untouched
    assert normalize({"c": rsync_project()})["c"]["sync"]["stages"] == [[]]


def test_normalize_lab_database(lab_db):
    out = normalize(lab_db, {"timeout": "6h", "max_delete": 4000})
    assert out["software"]["sync"]["syncs_per_day"] == 8  # interval 3h
    assert out["software"]["sync"]["timeout"] == 3600
    assert out["docs"]["sync"]["syncs_per_day"] == 0
    assert out["debian"]["sync"]["stages"][0][0] == "--exclude=Packages*"
    assert out["centos"]["enabled"] is False
    assert out["centos"]["sync"]["timeout"] == 6 * 3600


@pytest.mark.parametrize("db", [None, {"Bad": rsync_project()},
                                {"ex": rsync_project(syncs_per_day=7)}])
def test_normalize_rejects_invalid_database(db):
    with pytest.raises(ValueError, match="in the project database"):
        normalize(db)


# --- markdown reference ----------------------------------------------------------------------------

def test_markdown_reference_lists_every_field():
    text = markdown_reference()
    for f in schema.PROJECT_FIELDS:
        assert f"| `{f.name}` |" in text
    for f in schema.SYNC_FIELDS:
        assert f"| `sync.{f.name}` |" in text
    for f in schema.VERIFY_FIELDS:
        assert f"| `verify.{f.name}` |" in text
    for f in schema.SCAN_FIELDS:
        assert f"| `scan.{f.name}` |" in text
    for f in schema.USAGE_FIELDS:
        assert f"| `usage.{f.name}` |" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(schema.PROJECT_FIELDS) + len(schema.SYNC_FIELDS) + len(schema.VERIFY_FIELDS) \
        + len(schema.SCAN_FIELDS) + len(schema.USAGE_FIELDS)


def _cells(row: str) -> list[str]:
    """Cells of a GitHub-flavoured markdown table row (an escaped \\| is not a separator)."""
    inner = row.strip()[1:-1]
    return re.split(r"(?<!\\)\|", inner)


def test_markdown_reference_rows_have_five_columns():
    lines = markdown_reference().splitlines()
    for line in lines:
        if line.startswith("|"):
            assert len(_cells(line)) == 5, line


def test_projects_schema_doc_is_up_to_date(repo):
    doc = repo / "docs" / "projects-schema.md"
    if not doc.exists():
        pytest.skip("docs/projects-schema.md not written yet")
    assert markdown_reference() in doc.read_text(encoding="utf-8")
