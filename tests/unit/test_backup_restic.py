"""The restic driver against Debian's real restic and local repositories."""

from __future__ import annotations

import shutil

import pytest

from speculum.backup.restic import FAILED, LOCKED, MISSING, PASSWORD, UNREACHABLE, Repository, ResticError, classify

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is installed by make setup")


@pytest.fixture
def repo(tmp_path):
    password = tmp_path / "password"
    password.write_text("correct horse\n")
    return Repository(str(tmp_path / "repo"), str(password), cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def state(tmp_path):
    root = tmp_path / "state"
    (root / "status").mkdir(parents=True)
    (root / "status" / "debian.json").write_text('{"name": "debian"}\n')
    (root / "stats").mkdir()
    (root / "stats" / "stats.sqlite").write_bytes(b"live database, never backed up as is")
    return root


def test_init_backup_restore_round_trip(repo, state, tmp_path):
    assert repo.init_if_missing() is True
    assert repo.init_if_missing() is False
    summary = repo.backup([str(state)], excludes=(str(state / "stats" / "stats.sqlite*"),), tags=("speculum",))
    assert summary["snapshot_id"] and summary["files_new"] == 1
    [snapshot] = repo.snapshots()
    assert snapshot["tags"] == ["speculum"]
    repo.restore("latest", str(tmp_path / "restored"))
    restored = tmp_path / "restored" / state.relative_to("/")
    assert (restored / "status" / "debian.json").read_text() == '{"name": "debian"}\n'
    assert not (restored / "stats" / "stats.sqlite").exists()
    repo.check()


def test_retention_keeps_what_it_says(repo, state):
    repo.init_if_missing()
    for n in range(3):
        (state / "status" / "debian.json").write_text(f'{{"run": {n}}}\n')
        repo.backup([str(state)])
    assert len(repo.snapshots()) == 3
    repo.forget({"last": 2})
    assert len(repo.snapshots()) == 2
    with pytest.raises(ValueError):
        repo.forget({})


def test_a_wrong_password_fails_loudly_and_deletes_nothing(repo, state, tmp_path):
    repo.init_if_missing()
    repo.backup([str(state)])
    wrong = tmp_path / "wrong"
    wrong.write_text("battery staple\n")
    intruder = Repository(repo.location, str(wrong), cache_dir=repo.cache_dir)
    for action in (lambda: intruder.backup([str(state)]), lambda: intruder.forget({"last": 1})):
        with pytest.raises(ResticError) as caught:
            action()
        assert caught.value.kind == PASSWORD and "password is wrong" in str(caught.value)
    assert len(repo.snapshots()) == 1


def test_no_repository_is_named(repo):
    with pytest.raises(ResticError) as caught:
        repo.snapshots()
    assert caught.value.kind == MISSING


@pytest.mark.parametrize(("stderr", "kind"), [
    ("Fatal: wrong password or no key found\n", PASSWORD),
    ("Fatal: unable to open config file: Stat: stat /x/config: no such file or directory\n"
     "Is there a repository at the following location?\n", MISSING),
    ("subprocess ssh: ssh: connect to host backup.example.edu port 22: Connection refused\n", UNREACHABLE),
    ("Fatal: unable to create lock in backend: repository is already locked by PID 7\n", LOCKED),
    ("Fatal: something new\n", FAILED),
])
def test_classify(stderr, kind):
    assert classify(stderr) == kind
