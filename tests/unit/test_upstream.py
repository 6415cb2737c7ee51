"""Upstream probes against a real rsync daemon and a real HTTP server on 127.0.0.1.

Nothing of speculum.upstream is replaced: rsync, the daemon, the sockets and
the file system are real. Expected numbers come from walking the served tree.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import servers

from speculum import upstream
from speculum.upstream import Scan, UpstreamError

pytestmark = pytest.mark.skipif(not Path("/usr/bin/rsync").exists(), reason="needs rsync (make setup)")

TRACE_DATE = "Sat, 21 Nov 2026 05:00:00 +0000"
MTIME = 1700000000
TREE = {
    "lastsync": b"1763700000\n",
    "project/trace/master": (f"Date: {TRACE_DATE}\nDate-Started: Sat, 21 Nov 2026 04:41:10 +0000\n"
                             "Archive serial: 2026112101\nUsed ftpsync version: 20180513\n").encode(),
    "stamp": b"its modification time is the marker\n",
    "garbage-marker": b"not a timestamp\n",
    "dists/stable/Release": b"Release file\n",
    "dists/stable/main/binary-amd64/Packages": b"Package: a\n" * 100,
    "pool/main/a/a_1.0.deb": os.urandom(4096),
    "pool/main/b/b_2.0.deb": os.urandom(8192),
    "iso/big.iso": os.urandom(1_234_567),  # listed as 1,234,567
    "name with space.txt": b"spaces survive\n",
    "dir with space/inner  file": b"two spaces\n",
    "weird[1]*.txt": b"glob characters\n",
    "w-decoy.txt": b"would match weird* if globbed\n",
    "\u00fcn\u00efcode.txt": b"non-ASCII name\n",
    "new\nline": b"a newline in the name\n",
    "empty-file": b"",
}
SYMLINKS = {"current": "dists/stable", "latest.deb": "pool/main/a/a_1.0.deb", "dangling": "nowhere"}
EMPTY_DIRS = ("empty/dir",)
PASSWORD = "s3cret pass"


def expected_scan(root: Path) -> tuple[int, int, int, int]:
    """(files, directories, total size, symlinks) below ``root``, by walking it."""
    files = dirs = size = links = 0
    for top, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(top, name))
            if stat.S_ISLNK(info.st_mode):
                links += 1
            elif stat.S_ISDIR(info.st_mode):
                dirs += 1
            elif stat.S_ISREG(info.st_mode):
                files += 1
                size += info.st_size
    return files, dirs, size, links


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream")
    tree = servers.write_tree(root / "tree", TREE, SYMLINKS, EMPTY_DIRS)
    os.utime(tree / "stamp", (MTIME, MTIME))
    with servers.rsync_daemon(root, tree, PASSWORD) as served:
        yield served


@pytest.fixture
def hanging_upstream():
    with servers.frozen_upstream() as url:
        yield url


class _Handler(servers.QuietHandler):
    """Static files; HEAD is refused under /nohead/ like some CGI front ends do."""

    def do_HEAD(self):
        if self.path.startswith("/nohead/"):
            self.send_error(405, "HEAD not allowed")
            return
        super().do_HEAD()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    files = {"debian/dists/stable/Release": os.urandom(70_000), "nohead/file.bin": os.urandom(3000),
             "empty": b""}
    with servers.http_server(servers.write_tree(root, files), _Handler) as url:
        yield {"url": url, "files": files}


@pytest.fixture
def spy_rsync(tmp_path):
    """A wrapper that records the argv and RSYNC_PASSWORD it got, then runs the real rsync."""
    script = tmp_path / "rsync-spy"
    script.write_text('#!/bin/sh\nprintf "%s\\n" "$@" >> "$0.argv"\n'
                      'printf "%s\\n" "${RSYNC_PASSWORD-<unset>}" >> "$0.env"\n'
                      'exec /usr/bin/rsync "$@"\n')
    script.chmod(0o755)
    return script


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- listing parser ---------------------------------------------------------------------

def test_parse_line_handles_separators_escapes_and_symlinks():
    entry = upstream.parse_line(b"-rw-r--r--      1,234,567 2026/11/21 06:25:22 a/b/big file.bin\n")
    assert (entry.kind, entry.size, entry.name, entry.mtime) == (
        "-", 1234567, "a/b/big file.bin", "2026/11/21 06:25:22")
    assert upstream.parse_line(b"-rw-r--r--      1.234.567 2026/11/21 06:25:22 x").size == 1234567
    assert upstream.parse_line(b"-rw-r--r--  12345678901234 2026/11/21 06:25:22 x").size == 12345678901234
    link = upstream.parse_line(b"lrwxrwxrwx             11 2026/11/21 06:25:22 current -> dists/stable")
    assert (link.kind, link.name, link.target) == ("l", "current", "dists/stable")
    escaped = upstream.parse_line(rb"-rw-r--r--  1 2026/11/21 06:25:22 \#303\#274n new\#012line")
    assert escaped.name == "\u00fcn new\nline"
    # a backslash before '#' is escaped by rsync itself, so a literal '\#041' round-trips
    assert upstream.parse_line(rb"-rw-r--r--  1 2026/11/21 06:25:22 bs\#134#041x").name == "bs\\#041x"
    assert upstream.parse_line(b"rsync: [sender] link_stat failed") is None
    assert upstream.parse_line(b"") is None


# --- scan -------------------------------------------------------------------------------

def test_scan_counts_match_the_tree(daemon):
    files, dirs, size, links = expected_scan(daemon["tree"])
    result = upstream.scan(daemon["url"] + "/tree/", timeout=30)
    assert isinstance(result, Scan)
    assert (result.files, result.directories, result.total_size, result.symlinks) == (
        files, dirs, size, links)
    assert result.files == len(TREE) and result.symlinks == len(SYMLINKS)
    assert 0 <= result.seconds < 30


def test_scan_of_a_subdirectory_without_trailing_slash(daemon):
    files, dirs, size, _ = expected_scan(daemon["tree"] / "pool")
    result = upstream.scan(daemon["url"] + "/tree/pool", timeout=30)
    assert (result.files, result.directories, result.total_size) == (files, dirs, size)
    assert (files, dirs) == (2, 3)


def test_scan_auth_module_with_password(daemon, spy_rsync):
    files, dirs, size, _ = expected_scan(daemon["tree"])
    result = upstream.scan(daemon["url"] + "/auth/", user="speculum", password=PASSWORD,
                           timeout=30, rsync=str(spy_rsync))
    assert (result.files, result.directories, result.total_size) == (files, dirs, size)
    argv = Path(f"{spy_rsync}.argv").read_text()
    assert PASSWORD not in argv and "s3cret" not in argv
    assert f"rsync://speculum@127.0.0.1:{daemon['port']}/auth/" in argv.splitlines()
    assert "--list-only" in argv.splitlines() and "--recursive" in argv.splitlines()
    assert Path(f"{spy_rsync}.env").read_text() == PASSWORD + "\n"


@pytest.mark.parametrize("user, password", [(None, None), ("speculum", None), ("speculum", "wrong")])
def test_scan_auth_module_fails_clearly_without_the_password(daemon, monkeypatch, user, password):
    monkeypatch.delenv("RSYNC_PASSWORD", raising=False)
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        upstream.scan(daemon["url"] + "/auth/", user=user, password=password, timeout=20)
    assert time.monotonic() - started < 10  # no password prompt waiting for a terminal
    assert caught.value.exit_code == 5
    message = str(caught.value)
    assert "auth failed on module auth" in message and "password_secret" in message
    assert "exit 5 (error starting client-server protocol)" in message
    assert "Password:" not in message


def test_scan_unknown_module_names_exit_5(daemon):
    with pytest.raises(UpstreamError) as caught:
        upstream.scan(daemon["url"] + "/no-such-module/", timeout=20)
    assert caught.value.exit_code == 5
    message = str(caught.value)
    assert "rsync exit 5 (error starting client-server protocol)" in message
    assert "Unknown module 'no-such-module'" in message


def test_scan_of_a_frozen_upstream_stops_at_the_timeout(hanging_upstream):
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        upstream.scan(hanging_upstream, timeout=2)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 2 + upstream.KILL_GRACE + 3
    assert "timeout" in str(caught.value)


def test_scan_connection_refused():
    with pytest.raises(UpstreamError) as caught:
        upstream.scan(f"rsync://127.0.0.1:{servers.free_port()}/tree/", timeout=10)
    assert caught.value.exit_code == 10
    assert "Connection refused" in str(caught.value) and "socket I/O" in str(caught.value)


def test_scan_rejects_what_is_not_an_rsync_url():
    with pytest.raises(UpstreamError, match="not an rsync URL"):
        upstream.scan("https://example.org/debian/")
    with pytest.raises(UpstreamError, match="user"):
        upstream.scan("rsync://127.0.0.1/tree/", user="bad user@host")


def test_missing_rsync_binary_is_an_upstream_error(daemon, tmp_path):
    with pytest.raises(UpstreamError, match="cannot run"):
        upstream.scan(daemon["url"] + "/tree/", rsync=str(tmp_path / "no-rsync"))


# --- markers ----------------------------------------------------------------------------

def test_fetch_marker_unix(daemon):
    assert upstream.fetch_marker(daemon["url"] + "/tree/", "lastsync", "unix", timeout=20) == 1763700000.0


def test_fetch_marker_debian_trace(daemon):
    value = upstream.fetch_marker(daemon["url"] + "/tree", "project/trace/master", "debian-trace",
                                  timeout=20)
    assert value == parsedate_to_datetime(TRACE_DATE).timestamp()


def test_fetch_marker_mtime_is_preserved(daemon):
    assert upstream.fetch_marker(daemon["url"] + "/tree/", "stamp", "mtime", timeout=20) == MTIME


def test_fetch_marker_through_the_auth_module(daemon):
    value = upstream.fetch_marker(daemon["url"] + "/auth/", "/lastsync", "unix",
                                  user="speculum", password=PASSWORD, timeout=20)
    assert value == 1763700000.0


def test_fetch_marker_missing(daemon):
    with pytest.raises(UpstreamError, match="marker project/trace/nope is missing"):
        upstream.fetch_marker(daemon["url"] + "/tree/", "project/trace/nope", "debian-trace", timeout=20)


def test_fetch_marker_unreadable_or_not_a_file(daemon):
    with pytest.raises(UpstreamError, match="not a unix marker"):
        upstream.fetch_marker(daemon["url"] + "/tree/", "garbage-marker", "unix", timeout=20)
    with pytest.raises(UpstreamError, match="not a file"):
        upstream.fetch_marker(daemon["url"] + "/tree/", "dists", "unix", timeout=20)
    with pytest.raises(UpstreamError, match="leaves the upstream tree"):
        upstream.fetch_marker(daemon["url"] + "/tree/", "../etc/passwd", "unix", timeout=20)


def test_fetch_marker_on_unknown_module_and_frozen_upstream(daemon, hanging_upstream):
    with pytest.raises(UpstreamError, match="exit 5"):
        upstream.fetch_marker(daemon["url"] + "/nope/", "lastsync", "unix", timeout=20)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="timeout"):
        upstream.fetch_marker(hanging_upstream, "lastsync", "unix", timeout=2)
    assert time.monotonic() - started < 2 + upstream.KILL_GRACE + 3


# --- reachable --------------------------------------------------------------------------

def test_reachable_lists_the_root_only(daemon):
    ok, message = upstream.reachable(daemon["url"] + "/tree/", timeout=20)
    top_level = len(os.listdir(daemon["tree"]))
    assert ok and f"with {top_level} entries" in message


def test_reachable_with_and_without_credentials(daemon, monkeypatch):
    monkeypatch.delenv("RSYNC_PASSWORD", raising=False)
    assert upstream.reachable(daemon["url"] + "/auth/", user="speculum", password=PASSWORD)[0]
    ok, message = upstream.reachable(daemon["url"] + "/auth/", user="speculum")
    assert not ok and "auth failed" in message


def test_reachable_false_cases(daemon, hanging_upstream):
    ok, message = upstream.reachable(daemon["url"] + "/no-such-module/")
    assert not ok and "exit 5" in message and "Unknown module" in message
    ok, message = upstream.reachable(f"rsync://127.0.0.1:{servers.free_port()}/tree/")
    assert not ok and "Connection refused" in message
    ok, message = upstream.reachable("ftp://example.org/")
    assert not ok and "not an rsync URL" in message
    started = time.monotonic()
    ok, message = upstream.reachable(hanging_upstream, timeout=2)
    assert not ok and "timeout" in message
    assert time.monotonic() - started < 2 + upstream.KILL_GRACE + 3


# --- exists -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["iso/big.iso", "name with space.txt", "dir with space/inner  file",
                                  "weird[1]*.txt", "\u00fcn\u00efcode.txt", "empty-file"])
def test_exists_with_md5(daemon, path):
    result = upstream.exists(daemon["url"] + "/tree/", path, md5=True, timeout=20)
    assert result == {"exists": True, "size": len(TREE[path]), "md5": md5_of(TREE[path])}


def test_exists_without_md5_does_not_hash(daemon):
    result = upstream.exists(daemon["url"] + "/tree/", "pool/main/b/b_2.0.deb", timeout=20)
    assert result == {"exists": True, "size": 8192, "md5": None}


def test_exists_follows_symlinks_and_knows_directories(daemon):
    result = upstream.exists(daemon["url"] + "/tree/", "latest.deb", md5=True)
    assert result == {"exists": True, "size": 4096, "md5": md5_of(TREE["pool/main/a/a_1.0.deb"])}
    assert upstream.exists(daemon["url"] + "/tree/", "dists/stable/", md5=True) == {
        "exists": True, "size": None, "md5": None}
    assert upstream.exists(daemon["url"] + "/tree/", "current") == {
        "exists": True, "size": None, "md5": None}


@pytest.mark.parametrize("path", ["no-such-file", "pool/main/z/z_1.0.deb", "dangling", "weird*"])
def test_exists_missing(daemon, path):
    assert upstream.exists(daemon["url"] + "/tree/", path, md5=True) == {
        "exists": False, "size": None, "md5": None}


def test_exists_through_auth_and_failures_are_not_missing(daemon, monkeypatch):
    monkeypatch.delenv("RSYNC_PASSWORD", raising=False)
    result = upstream.exists(daemon["url"] + "/auth/", "lastsync", md5=True, user="speculum",
                             password=PASSWORD)
    assert result == {"exists": True, "size": len(TREE["lastsync"]), "md5": md5_of(TREE["lastsync"])}
    with pytest.raises(UpstreamError, match="auth failed"):
        upstream.exists(daemon["url"] + "/auth/", "lastsync", user="speculum")
    with pytest.raises(UpstreamError, match="exit 5"):
        upstream.exists(daemon["url"] + "/no-such-module/", "lastsync")


# --- http_probe ---------------------------------------------------------------------------

def test_http_probe_head_gives_size(web):
    data = web["files"]["debian/dists/stable/Release"]
    result = upstream.http_probe(web["url"] + "/debian/dists/stable/Release")
    assert result == {"status": 200, "size": len(data), "md5": None, "error": None}


def test_http_probe_with_md5(web):
    data = web["files"]["debian/dists/stable/Release"]
    result = upstream.http_probe(web["url"] + "/debian/dists/stable/Release", md5=True)
    assert result == {"status": 200, "size": len(data), "md5": md5_of(data), "error": None}
    assert upstream.http_probe(web["url"] + "/empty", md5=True) == {
        "status": 200, "size": 0, "md5": md5_of(b""), "error": None}


def test_http_probe_falls_back_to_get_when_head_is_refused(web):
    data = web["files"]["nohead/file.bin"]
    assert upstream.http_probe(web["url"] + "/nohead/file.bin") == {
        "status": 200, "size": len(data), "md5": None, "error": None}


def test_http_probe_404(web):
    result = upstream.http_probe(web["url"] + "/debian/no-such-file")
    assert result["status"] == 404 and result["size"] is None and result["md5"] is None
    assert "404" in result["error"]
    assert upstream.http_probe(web["url"] + "/debian/no-such-file", md5=True)["status"] == 404


def test_http_probe_connection_refused():
    result = upstream.http_probe(f"http://127.0.0.1:{servers.free_port()}/debian/", timeout=5)
    assert result["status"] is None and result["size"] is None
    assert "refused" in result["error"].lower()


def test_http_probe_timeout(hanging_upstream):
    port = hanging_upstream.split(":")[2].split("/")[0]
    started = time.monotonic()
    result = upstream.http_probe(f"http://127.0.0.1:{port}/", timeout=1)
    assert result["status"] is None and "timed out" in result["error"]
    assert time.monotonic() - started < 5


def test_http_probe_bad_url():
    result = upstream.http_probe("not a url")
    assert result["status"] is None and result["error"]


# --- parallel -----------------------------------------------------------------------------

def test_parallel_keeps_order_and_reports_progress():
    calls = []

    def slow_square(n):
        time.sleep(random.uniform(0, 0.02))
        return n * n

    items = list(range(40))
    assert upstream.parallel(slow_square, items, jobs=8,
                             progress=lambda done, total: calls.append((done, total))) == [
        n * n for n in items]
    assert calls == [(done, 40) for done in range(1, 41)]


def test_parallel_runs_concurrently_and_edge_cases():
    barrier = threading.Barrier(4, timeout=5)  # deadlocks unless 4 run at once
    assert upstream.parallel(lambda n: barrier.wait() >= 0 and n, range(4), jobs=4) == [0, 1, 2, 3]
    assert upstream.parallel(str, [], progress=lambda *a: pytest.fail("no progress")) == []
    assert upstream.parallel(str, iter([1, 2]), jobs=1) == ["1", "2"]
    with pytest.raises(ValueError):
        upstream.parallel(str, [1], jobs=0)

    def fail_on_three(n):
        if n == 3:
            raise UpstreamError("three")
        return n

    with pytest.raises(UpstreamError, match="three"):
        upstream.parallel(fail_on_three, range(6))


def test_parallel_over_real_probes(daemon):
    paths = ["lastsync", "no-such-file", "iso/big.iso", "name with space.txt"]
    results = upstream.parallel(
        lambda p: upstream.exists(daemon["url"] + "/tree/", p, timeout=20), paths, jobs=4)
    assert [r["exists"] for r in results] == [True, False, True, True]
    assert results[2]["size"] == 1_234_567
