"""mirrorctl's database commands against temporary copies of the lab database."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
import yaml

from speculum import cli, config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path) -> Path:
    target = tmp_path / "group_vars/all"
    shutil.copytree(ROOT / "group_vars/all", target)
    return target / "projects.yml"


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def load(db: Path) -> dict:
    return yaml.safe_load(db.read_text())["speculum_projects"]


def test_list_filters_and_columns(db, capsys):
    assert run("list", "--db", db, "--columns", "id", "--no-header") == 0
    assert capsys.readouterr().out.split() == ["archlinux", "debian", "docs", "private-software",
                                               "releases", "software"]
    assert run("list", "--db", db, "-a", "--columns", "id", "--no-header") == 0
    assert "centos" in capsys.readouterr().out.split()
    assert run("list", "--db", db, "--disabled", "--columns", "id", "--no-header") == 0
    assert capsys.readouterr().out.split() == ["centos"]
    assert run("list", "--db", db, "--category", "distributions", "--official",
               "--columns", "id", "--no-header") == 0
    assert capsys.readouterr().out.split() == ["archlinux", "debian"]
    assert run("list", "--db", db, "--upstream", "LAB-UPSTREAM", "--columns", "id,per_day", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == {"archlinux", "debian", "private-software", "releases", "software"}
    assert set(rows[0]) == {"id", "per_day"}
    assert run("list", "--db", db, "--columns", "id,bogus") == 2


def test_show_prints_the_record_with_its_comments(db, capsys):
    assert run("show", "--db", db, "deb") == 0
    out = capsys.readouterr().out
    assert out.startswith("debian:\n")
    assert "# Two-stage sync" in out  # comments inside the record survive
    assert "comment log (1):" in out


def test_ambiguous_and_unknown_ids(db, capsys):
    assert run("show", "--db", db, "soft") == 2
    err = capsys.readouterr().err
    assert "'soft' matches 2 projects: private-software, software" in err
    assert run("show", "--db", db, "nothing-like-it") == 2
    assert "no project id contains" in capsys.readouterr().err


def test_new_project_starts_disabled_with_an_added_comment(db, capsys):
    before = db.read_text()
    assert run("new", "--db", db, "alpine", "--upstream", "rsync://rsync.alpinelinux.org/alpine/",
               "--name", "Alpine Linux", "--category", "Distributions", "--syncs-per-day", "4",
               "--stage", "--exclude=/edge/ --exclude=*.iso") == 0
    record = load(db)["alpine"]
    assert record["enabled"] is False
    assert record["sync"]["stages"] == [["--exclude=/edge/", "--exclude=*.iso"]]
    assert record["comments"][0].startswith("Added 20")
    assert db.read_text().startswith(before.rstrip("\n"))  # appended, the rest untouched
    assert run("validate", "--db", db) == 0


def test_new_with_bad_input_writes_nothing(db, capsys):
    before = db.read_bytes()
    assert run("new", "--db", db, "fedora", "--syncs-per-day", "7") == 1
    err = capsys.readouterr().err
    assert "project 'fedora', field 'sync.upstream': is required" in err
    assert "field 'sync.syncs_per_day': 7 runs a day" in err
    assert db.read_bytes() == before
    assert run("new", "--db", db, "Bad/Id", "--upstream", "rsync://h/m/") == 2


def test_enable_disable_and_no_op_is_byte_identical(db, capsys):
    before = db.read_bytes()
    stat_before = db.stat()
    assert run("enable", "--db", db, "arch") == 0  # already enabled
    assert db.read_bytes() == before and db.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert "(no change)" in capsys.readouterr().out
    assert run("disable", "--db", db, "arch", "deb") == 0
    projects = load(db)
    assert not projects["archlinux"]["enabled"] and not projects["debian"]["enabled"]
    assert run("enable", "--db", db, "archlinux", "debian") == 0
    assert db.read_bytes() == before  # comments, order and formatting preserved


def test_rename_keeps_position_and_logs_it(db):
    assert run("rename", "--db", db, "arch", "arch-linux") == 0
    projects = load(db)
    assert list(projects)[1] == "arch-linux" and "archlinux" not in projects
    assert projects["arch-linux"]["comments"][-1].endswith("Renamed from archlinux")
    assert run("rename", "--db", db, "arch-linux", "debian") == 1  # taken


def test_delete_needs_the_exact_id(db, capsys):
    assert run("delete", "--db", db, "cent", "--yes") == 2
    assert "did you mean 'centos'" in capsys.readouterr().err
    assert "centos" in load(db)
    assert run("delete", "--db", db, "centos", "--yes") == 0
    assert "centos" not in load(db)


def test_comment_log(db, capsys):
    assert run("comment", "--db", db, "deb", "upstream moved to a new host") == 0
    comments = load(db)["debian"]["comments"]
    assert len(comments) == 2 and comments[-1].endswith(": upstream moved to a new host")
    assert comments[-1][:16].replace("-", "").replace(" ", "").replace(":", "").isdigit()


def editor(tmp_path: Path, steps: list[str]) -> str:
    """An $EDITOR that applies one scripted change per call (a Python file)."""
    script = tmp_path / "editor.py"
    state = tmp_path / "editor-calls"
    script.write_text(f"""import sys, json, pathlib
path = pathlib.Path(sys.argv[1]); state = pathlib.Path({str(state)!r})
calls = int(state.read_text()) if state.exists() else 0
state.write_text(str(calls + 1))
steps = json.loads({json.dumps(json.dumps(steps))})
text = path.read_text()
pathlib.Path({str(tmp_path / 'seen')!r} + str(calls)).write_text(text)
old, new = steps[min(calls, len(steps) - 1)].split(" => ")
path.write_text(text.replace(old, new))
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{sys.executable} {script}"


def test_edit_saves_a_valid_change(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISUAL", editor(tmp_path, ["syncs_per_day: 12 => syncs_per_day: 24"]))
    assert run("edit", "--db", db, "arch", "--yes") == 0
    out = capsys.readouterr().out
    assert "-      syncs_per_day: 12" in out and "+      syncs_per_day: 24" in out
    assert load(db)["archlinux"]["sync"]["syncs_per_day"] == 24


def test_edit_with_an_invalid_change_reopens_with_the_error_and_loses_nothing(db, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", editor(tmp_path, [
        "syncs_per_day: 12 => syncs_per_day: 7",       # invalid
        "syncs_per_day: 7 => syncs_per_day: 6",        # fixed on the second opening
    ]))
    assert run("edit", "--db", db, "arch", "--yes") == 0
    second = (tmp_path / "seen1").read_text()
    assert second.startswith("# ERROR")
    assert "project 'archlinux', field 'sync.syncs_per_day': 7 runs a day" in second
    assert "syncs_per_day: 7" in second  # the admin's own edit is still there
    assert load(db)["archlinux"]["sync"]["syncs_per_day"] == 6


def test_edit_given_up_keeps_the_edit_in_a_file(db, tmp_path, monkeypatch, capsys):
    before = db.read_bytes()
    monkeypatch.setenv("VISUAL", editor(tmp_path, ["syncs_per_day: 12 => syncs_per_day: 7",
                                                    "no such text => nothing"]))
    assert run("edit", "--db", db, "arch", "--yes") == 1
    err = capsys.readouterr().err
    assert db.read_bytes() == before
    rescue = Path(err.split("your edit is kept in ")[1].split()[0])
    assert "syncs_per_day: 7" in rescue.read_text()
    rescue.unlink()


def test_edit_without_confirmation_off_a_terminal_saves_nothing(db, tmp_path, monkeypatch, capsys):
    before = db.read_bytes()
    monkeypatch.setenv("VISUAL", editor(tmp_path, ["syncs_per_day: 12 => syncs_per_day: 24"]))
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert run("edit", "--db", db, "arch") == 1
    assert db.read_bytes() == before
    assert "pass --yes" in capsys.readouterr().err


def test_the_host_refuses_edits(tmp_path, capsys):
    runtime = config.build(yaml.safe_load((ROOT / "group_vars/all/projects.yml").read_text())
                           ["speculum_projects"])
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(runtime))
    for argv in (["enable", "centos"], ["comment", "debian", "x"], ["new", "x", "--upstream", "rsync://h/m/"],
                 ["delete", "centos", "--yes"], ["rename", "debian", "deb"]):
        assert run(*argv, "--config", cfg) == 4
        assert "edit group_vars/all/projects.yml in the repository" in capsys.readouterr().err
    assert run("list", "--config", cfg, "--columns", "id", "--no-header") == 0
    assert "debian" in capsys.readouterr().out.split()


def test_completion_script_lists_commands(capsys):
    assert run("completion", "bash") == 0
    out = capsys.readouterr().out
    assert "complete -F _mirrorctl mirrorctl" in out
    for command in ("list", "scan", "probefile", "export", "import", "status"):
        assert command in out


def test_every_command_has_help_with_examples(capsys):
    parser = cli.build_parser()
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            assert sub.epilog and "examples:" in sub.epilog, name
