"""The collection's modules, run in-process through their arguments on a temporary tree."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat

import ansible.module_utils.basic as basic
import pytest
from ansible_collections.speculum.mirror.plugins.modules import directories, managed_files, sync_info

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def run(monkeypatch, capsys, umask022):
    """run(module, **args) -> (exit code, result dict)."""

    def _run(module, **args):
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS",
                            json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            module.main()
        out = capsys.readouterr().out
        return exited.value.code, json.loads(out.strip().splitlines()[-1])

    return _run


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- managed_files ------------------------------------------------------------------------

FILES = {"speculum-sync-a.service": "[Service]\nExecStart=/bin/a\n",
         "speculum-sync-a.timer": "[Timer]\nOnCalendar=*-*-* 01:32:00\n"}
PATTERNS = ["speculum-sync-*.service", "speculum-sync-*.timer"]


@pytest.fixture
def files_run(run, tmp_path):
    """managed_files on tmp_path/units with the current user as owner."""
    target = tmp_path / "units"
    target.mkdir()

    def _files_run(files=FILES, **args):
        args = {"path": str(target), "files": files, "patterns": PATTERNS,
                "owner": OWNER, "group": GROUP, **args}
        return run(managed_files, **args)

    _files_run.dir = target
    return _files_run


def listing(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize("mode", ["0644", "0640", "0600"])
def test_managed_files_writes_new_files(files_run, mode):
    code, result = files_run(mode=mode)
    assert code == 0
    assert result["changed"] is True
    assert result["written"] == sorted(FILES)
    assert result["removed"] == []
    assert listing(files_run.dir) == {n: c.encode() for n, c in FILES.items()}
    for name in FILES:
        path = files_run.dir / name
        assert mode_of(path) == int(mode, 8)
        assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())


@pytest.mark.parametrize("mode", ["0644", "0600"])
def test_managed_files_second_run_changes_nothing(files_run, mode):
    files_run(mode=mode)
    before = {p.name: p.stat().st_mtime_ns for p in files_run.dir.iterdir()}
    code, result = files_run(mode=mode)
    assert code == 0
    assert result == {"changed": False, "written": [], "removed": []}
    assert {p.name: p.stat().st_mtime_ns for p in files_run.dir.iterdir()} == before


def test_managed_files_rewrites_changed_content(files_run):
    files_run()
    (files_run.dir / "speculum-sync-a.timer").write_text("edited by hand\n")
    code, result = files_run()
    assert result["changed"] is True
    assert result["written"] == ["speculum-sync-a.timer"]
    assert listing(files_run.dir) == {n: c.encode() for n, c in FILES.items()}


def test_managed_files_fixes_the_mode_of_an_unchanged_file(files_run):
    files_run()
    path = files_run.dir / "speculum-sync-a.service"
    path.chmod(0o600)
    code, result = files_run()
    assert result["written"] == ["speculum-sync-a.service"]
    assert mode_of(path) == 0o644
    assert files_run()[1]["changed"] is False


def test_managed_files_leaves_no_temporary_files(files_run):
    files_run()
    (files_run.dir / "speculum-sync-a.timer").write_text("old\n")
    files_run(files={**FILES, "speculum-sync-b.timer": "b"})
    assert sorted(p.name for p in files_run.dir.iterdir()) == sorted(
        [*FILES, "speculum-sync-b.timer"])


def test_managed_files_removes_stale_matching_files_only(files_run):
    stale = files_run.dir / "speculum-sync-gone.service"
    stale.write_text("[Service]\n")
    foreign = files_run.dir / "nginx.service"
    foreign.write_text("not ours\n")
    subdir = files_run.dir / "speculum-sync-x.service.d"
    subdir.mkdir()
    code, result = files_run(patterns=["speculum-sync-*.service", "speculum-sync-*.timer",
                                       "speculum-sync-*.service.d"])
    assert result["changed"] is True
    assert result["removed"] == ["speculum-sync-gone.service"]
    assert not stale.exists()
    assert foreign.read_text() == "not ours\n"
    assert subdir.is_dir()  # only regular files are removed


def test_managed_files_without_patterns_removes_nothing(files_run):
    extra = files_run.dir / "speculum-sync-gone.service"
    extra.write_text("x")
    code, result = files_run(patterns=[])
    assert result["removed"] == []
    assert extra.exists()


def test_managed_files_only_removal_is_a_change(files_run):
    files_run()
    (files_run.dir / "speculum-sync-b.timer").write_text("stale")
    code, result = files_run()
    assert result == {"changed": True, "written": [], "removed": ["speculum-sync-b.timer"]}


def test_managed_files_check_mode_touches_nothing(files_run):
    files_run()
    edited = files_run.dir / "speculum-sync-a.timer"
    edited.write_text("edited by hand\n")
    stale = files_run.dir / "speculum-sync-gone.service"
    stale.write_text("stale\n")
    before = listing(files_run.dir)
    files = {**FILES, "speculum-sync-new.service": "new\n"}
    code, result = files_run(files=files, _ansible_check_mode=True)
    assert code == 0
    assert result["changed"] is True
    assert result["written"] == ["speculum-sync-a.timer", "speculum-sync-new.service"]
    assert result["removed"] == ["speculum-sync-gone.service"]
    assert listing(files_run.dir) == before


def test_managed_files_check_mode_missing_directory(run, tmp_path):
    target = tmp_path / "missing"
    code, result = run(managed_files, path=str(target), files=FILES, patterns=PATTERNS,
                       owner=OWNER, group=GROUP, _ansible_check_mode=True)
    assert code == 0
    assert result["written"] == sorted(FILES)
    assert not target.exists()


def test_managed_files_check_mode_tolerates_unknown_owner(files_run):
    code, result = files_run(owner="no-such-user-speculum", _ansible_check_mode=True)
    assert code == 0
    assert result["written"] == sorted(FILES)
    assert listing(files_run.dir) == {}


def test_managed_files_unknown_owner_fails(files_run):
    code, result = files_run(owner="no-such-user-speculum")
    assert code == 1
    assert result["failed"] is True
    assert "no-such-user-speculum" in result["msg"]
    assert listing(files_run.dir) == {}


def test_managed_files_diff(files_run):
    files_run()
    (files_run.dir / "speculum-sync-a.timer").write_text("old\n")
    (files_run.dir / "speculum-sync-gone.timer").write_text("gone\n")
    code, result = files_run(_ansible_diff=True)
    by_path = {d["before_header"]: d for d in result["diff"]}
    timer = by_path[str(files_run.dir / "speculum-sync-a.timer")]
    assert (timer["before"], timer["after"]) == ("old\n", FILES["speculum-sync-a.timer"])
    gone = by_path[str(files_run.dir / "speculum-sync-gone.timer")]
    assert (gone["before"], gone["after"]) == ("gone\n", "")
    assert len(result["diff"]) == 2


def test_managed_files_diff_of_a_new_file(files_run):
    code, result = files_run(files={"speculum-sync-n.timer": "n\n"}, _ansible_diff=True,
                             _ansible_check_mode=True)
    assert result["diff"] == [{"before_header": str(files_run.dir / "speculum-sync-n.timer"),
                               "after_header": str(files_run.dir / "speculum-sync-n.timer"),
                               "before": "", "after": "n\n"}]


def test_managed_files_no_diff_unless_asked(files_run):
    code, result = files_run()
    assert "diff" not in result


@pytest.mark.parametrize("name", ["sub/file", "../escape", "/etc/passwd", "..", ".", ""])
def test_managed_files_rejects_names_that_are_not_plain(files_run, tmp_path, name):
    code, result = files_run(files={**FILES, name: "x"})
    assert code == 1
    assert result["failed"] is True
    assert "plain name" in result["msg"]
    assert listing(files_run.dir) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["units"]


def test_managed_files_creates_a_missing_directory(run, tmp_path):
    target = tmp_path / "new" / "units"
    code, result = run(managed_files, path=str(target), files=FILES, patterns=PATTERNS,
                       owner=OWNER, group=GROUP, directory_mode="0750")
    assert code == 0
    assert result["written"] == sorted(FILES)
    assert target.is_dir()
    assert mode_of(target) == 0o750
    assert listing(target) == {n: c.encode() for n, c in FILES.items()}


def test_managed_files_directory_mode_is_exact(run, tmp_path):
    target = tmp_path / "shared"
    run(managed_files, path=str(target), files=FILES, owner=OWNER, group=GROUP,
        directory_mode="0775")
    assert mode_of(target) == 0o775


def test_managed_files_empty_files_mapping_removes_everything_owned(files_run):
    files_run()
    code, result = files_run(files={})
    assert result["removed"] == sorted(FILES)
    assert listing(files_run.dir) == {}


# --- directories -----------------------------------------------------------------------------

@pytest.fixture
def dirs_run(run):
    def _dirs_run(paths, **args):
        return run(directories, paths=[str(p) for p in paths],
                   **{"owner": OWNER, "group": GROUP, **args})
    return _dirs_run


def test_directories_creates_missing(dirs_run, tmp_path):
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o750)
    existing.chmod(0o750)
    wanted = [tmp_path / "a", tmp_path / "deep" / "er" / "b", existing]
    code, result = dirs_run(wanted, mode="0750")
    assert code == 0
    assert result["changed"] is True
    assert result["created"] == [str(p) for p in wanted[:2]]
    assert result["fixed"] == []
    for path in wanted:
        assert path.is_dir()
        assert mode_of(path) == 0o750
        assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())


def test_directories_second_run_changes_nothing(dirs_run, tmp_path):
    wanted = [tmp_path / "a", tmp_path / "b" / "c"]
    dirs_run(wanted, mode="0700")
    code, result = dirs_run(wanted, mode="0700")
    assert code == 0
    assert result == {"changed": False, "created": [], "fixed": []}


def test_directories_fixes_a_wrong_mode(dirs_run, tmp_path):
    path = tmp_path / "a"
    path.mkdir()
    path.chmod(0o700)
    code, result = dirs_run([path], mode="0755")
    assert result["changed"] is True
    assert result["fixed"] == [str(path)]
    assert result["created"] == []
    assert mode_of(path) == 0o755
    assert dirs_run([path], mode="0755")[1]["changed"] is False


def test_directories_check_mode_changes_nothing(dirs_run, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    wrong.chmod(0o700)
    missing = tmp_path / "missing" / "deeper"
    code, result = dirs_run([missing, wrong], mode="0755", _ansible_check_mode=True)
    assert code == 0
    assert result["changed"] is True
    assert result["created"] == [str(missing)]
    assert result["fixed"] == [str(wrong)]
    assert not (tmp_path / "missing").exists()
    assert mode_of(wrong) == 0o700


def test_directories_check_mode_tolerates_unknown_owner(dirs_run, tmp_path):
    code, result = dirs_run([tmp_path / "a"], owner="no-such-user-speculum",
                            _ansible_check_mode=True)
    assert code == 0
    assert result["created"] == [str(tmp_path / "a")]
    assert not (tmp_path / "a").exists()


def test_directories_unknown_owner_fails(dirs_run, tmp_path):
    code, result = dirs_run([tmp_path / "a"], owner="no-such-user-speculum")
    assert code == 1
    assert "no-such-user-speculum" in result["msg"]
    assert not (tmp_path / "a").exists()


def test_directories_rejects_relative_paths(dirs_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, result = dirs_run(["relative/dir"])
    assert code == 1
    assert "absolute" in result["msg"]
    assert not (tmp_path / "relative").exists()


def test_directories_parents_are_0755(dirs_run, tmp_path):
    os.umask(0o002)  # the umask022 fixture restores the original
    dirs_run([tmp_path / "parent" / "leaf"], mode="0700")
    assert mode_of(tmp_path / "parent" / "leaf") == 0o700
    assert mode_of(tmp_path / "parent") == 0o755


# --- sync_info -------------------------------------------------------------------

def write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def test_sync_info_reads_history_and_plan(run, tmp_path):
    write_json(tmp_path / "config.json", {"site": {}, "projects": {
        "debian": {"schedule": {"starts": [31, 391, 751, 1111]}},
        "docs": {"schedule": {"starts": []}}}})
    history = [{"status": "success", "duration": d} for d in (10, 20, 30)]
    history.insert(1, {"status": "failed", "duration": 999})
    write_json(tmp_path / "status/debian.json", {"history": history})
    write_json(tmp_path / "status/arch.json", {"history": [{"status": "failed", "duration": 5}]})
    (tmp_path / "status/broken.json").write_text("{not json")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, result = run(sync_info, config=str(tmp_path / "config.json"),
                       status_dir=str(tmp_path / "status"), history_runs=2)
    assert code == 0 and result["changed"] is False
    assert result["plan"] == {"debian": [31, 391, 751, 1111]}
    assert result["durations"] == {"debian": [20, 30]}  # successes only, newest 2
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_sync_info_on_a_fresh_host_is_empty(run, tmp_path):
    code, result = run(sync_info, config=str(tmp_path / "none.json"),
                       status_dir=str(tmp_path / "none"), _ansible_check_mode=True)
    assert code == 0
    assert result["plan"] == {} and result["durations"] == {}
