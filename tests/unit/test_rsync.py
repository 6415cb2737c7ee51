"""rsync specifics: upstream URLs, stage argv, exit codes, --stats."""

from __future__ import annotations

import pytest

from speculum.rsync import (
    DEFAULT_OPTIONS,
    Outcome,
    Upstream,
    classify,
    describe_exit,
    parse_stats,
    parse_upstream,
    stage_argv,
)


@pytest.mark.parametrize("text,expected", [
    ("rsync://mirror.example.org/debian",
     Upstream("rsync://mirror.example.org/debian/", "mirror.example.org", None, "debian")),
    ("rsync://mirror.example.org/debian/",
     Upstream("rsync://mirror.example.org/debian/", "mirror.example.org", None, "debian")),
    ("rsync://mirror.example.org:8873/debian/",
     Upstream("rsync://mirror.example.org:8873/debian/", "mirror.example.org", 8873, "debian")),
    ("rsync://mirror.example.org/pub/linux/debian",
     Upstream("rsync://mirror.example.org/pub/linux/debian/", "mirror.example.org", None, "pub")),
    ("mirror.example.org::debian/dists",
     Upstream("rsync://mirror.example.org/debian/dists/", "mirror.example.org", None, "debian")),
    ("mirror.example.org::debian",
     Upstream("rsync://mirror.example.org/debian/", "mirror.example.org", None, "debian")),
    ("rsync://[::1]/debian/",
     Upstream("rsync://[::1]/debian/", "[::1]", None, "debian")),
    ("rsync://[2001:DB8::1]:873/debian",
     Upstream("rsync://[2001:db8::1]:873/debian/", "[2001:db8::1]", 873, "debian")),
    ("rsync://Mirror.Example.ORG/Debian/",
     Upstream("rsync://mirror.example.org/Debian/", "mirror.example.org", None, "Debian")),
    ("  rsync://lab-upstream/archlinux/  ",
     Upstream("rsync://lab-upstream/archlinux/", "lab-upstream", None, "archlinux")),
    ("rsync://10.0.0.5/ctan//",
     Upstream("rsync://10.0.0.5/ctan/", "10.0.0.5", None, "ctan")),
])
def test_parse_upstream(text, expected):
    assert parse_upstream(text) == expected


def test_parse_upstream_is_idempotent():
    url = parse_upstream("host.example.org::mod/a/b").url
    assert parse_upstream(url).url == url


@pytest.mark.parametrize("text", [
    "http://mirror.example.org/debian/",
    "https://mirror.example.org/debian/",
    "ftp://mirror.example.org/debian/",
    "rsync://mirror.example.org",
    "rsync://mirror.example.org/",
    "rsync://mirror.example.org//",
    "mirror.example.org::",
    "mirror.example.org::/",
    "mirror.example.org:/debian",
    "/srv/mirror/debian",
    "rsync://mirror example.org/debian",
    "rsync://mirror.example.org:port/debian",
    "",
])
def test_parse_upstream_rejects(text):
    with pytest.raises(ValueError):
        parse_upstream(text)


def test_parse_upstream_without_module_says_so():
    with pytest.raises(ValueError, match="module"):
        parse_upstream("rsync://mirror.example.org//")


OPTIONS = ["-rlptH", "--safe-links", "--delay-updates"]
UPSTREAM = "rsync://up.example.org/debian/"


def test_stage_argv_not_last():
    argv = stage_argv(rsync="/usr/bin/rsync", options=OPTIONS,
                      stage=["--exclude=Packages*", "--exclude=/project/trace/"], last=False,
                      max_delete=4000, upstream=UPSTREAM, target="/srv/mirror/debian")
    assert argv == ["/usr/bin/rsync", "-rlptH", "--safe-links", "--delay-updates",
                    "--exclude=Packages*", "--exclude=/project/trace/",
                    UPSTREAM, "/srv/mirror/debian/"]
    assert not any(a.startswith(("--delete", "--max-delete")) for a in argv)


def test_stage_argv_last():
    argv = stage_argv(rsync="/usr/bin/rsync", options=OPTIONS, stage=[], last=True,
                      max_delete=17, upstream=UPSTREAM, target="/srv/mirror/debian/")
    assert argv == ["/usr/bin/rsync", "-rlptH", "--safe-links", "--delay-updates",
                    "--delete-delay", "--max-delete=17", UPSTREAM, "/srv/mirror/debian/"]


def test_stage_argv_max_delete_zero_is_kept():
    argv = stage_argv(rsync="rsync", options=[], stage=[], last=True, max_delete=0,
                      upstream=UPSTREAM, target="/t")
    assert "--max-delete=0" in argv


def test_stage_argv_pattern_is_one_unquoted_element():
    argv = stage_argv(rsync="rsync", options=list(DEFAULT_OPTIONS),
                      stage=["--exclude=Packages*", "--filter=P name with space"], last=False,
                      max_delete=1, upstream=UPSTREAM, target="/t")
    assert "--exclude=Packages*" in argv
    assert "--filter=P name with space" in argv
    assert "--filter=risk .~tmp~/" in argv
    assert not any("'" in a or '"' in a for a in argv)


@pytest.mark.parametrize("last", [False, True])
def test_stage_argv_password_file(last):
    argv = stage_argv(rsync="rsync", options=OPTIONS, stage=["--exclude=/iso/"], last=last,
                      max_delete=5, upstream=UPSTREAM, target="/srv/mirror/private",
                      password_file="/run/credentials/x/rsync-password")
    assert argv.count("--password-file=/run/credentials/x/rsync-password") == 1
    assert argv[-3] == "--password-file=/run/credentials/x/rsync-password"
    assert argv[-2:] == [UPSTREAM, "/srv/mirror/private/"]
    assert ("--delete-delay" in argv) is last


@pytest.mark.parametrize("target,expected", [("/srv/mirror/debian", "/srv/mirror/debian/"),
                                             ("/srv/mirror/debian/", "/srv/mirror/debian/"),
                                             ("/srv/mirror/debian//", "/srv/mirror/debian/")])
def test_stage_argv_target_has_one_trailing_slash(target, expected):
    argv = stage_argv(rsync="rsync", options=(), stage=[], last=False, max_delete=1,
                      upstream=UPSTREAM, target=target)
    assert argv == ["rsync", UPSTREAM, expected]


def test_stage_argv_does_not_modify_its_inputs():
    options, stage = list(OPTIONS), ["--exclude=x"]
    stage_argv(rsync="rsync", options=options, stage=stage, last=True, max_delete=1,
               upstream=UPSTREAM, target="/t", password_file="/p")
    assert options == OPTIONS
    assert stage == ["--exclude=x"]


@pytest.mark.parametrize("code", [0, 24])
def test_classify_success(code):
    assert classify(code) is Outcome.SUCCESS


@pytest.mark.parametrize("code", [5, 10, 12, 23, 30, 35])
def test_classify_retry(code):
    assert classify(code) is Outcome.RETRY


@pytest.mark.parametrize("code", [1, 2, 3, 4, 6, 11, 13, 14, 20, 21, 22, 25, 127, -9, -15, 255])
def test_classify_fail(code):
    assert classify(code) is Outcome.FAIL


def test_describe_exit():
    assert "max-delete" in describe_exit(25)
    assert describe_exit(-9) == "killed by signal 9"
    assert describe_exit(-15) == "killed by signal 15"
    assert describe_exit(0) == "success"
    assert describe_exit(24) == "partial transfer due to vanished source files"
    assert describe_exit(99) == "unknown rsync exit code"


STATS = b"""\
receiving incremental file list
dists/stable/Release

Number of files: 12,345 (reg: 11,000, dir: 1,345)
Number of created files: 1 (reg: 1)
Number of deleted files: 0
Number of regular files transferred: 3
Total file size: 1,234,567 bytes
Total transferred file size: 8,192 bytes
Literal data: 8,192 bytes
Matched data: 0 bytes
File list size: 65,536
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 1,024
Total bytes received: 9,876

sent 1,024 bytes  received 9,876 bytes  21,800.00 bytes/sec
total size is 1,234,567  speedup is 113.26
"""


def test_parse_stats():
    assert parse_stats(STATS) == {"total_size": 1234567, "transferred_size": 8192, "files": 12345}


def test_parse_stats_last_block_wins():
    second = STATS.replace(b"1,234,567", b"2,000,000").replace(b"12,345", b"12,346")
    stats = parse_stats(STATS + second)
    assert stats["total_size"] == 2000000
    assert stats["files"] == 12346


def test_parse_stats_without_separators_and_with_dots():
    output = (b"Number of files: 42\nTotal file size: 1.234.567 bytes\n"
              b"Total transferred file size: 0 bytes\n")
    assert parse_stats(output) == {"files": 42, "total_size": 1234567, "transferred_size": 0}


def test_parse_stats_nothing():
    assert parse_stats(b"rsync: [Receiver] connection unexpectedly closed\n") == {}
    assert parse_stats(b"") == {}
