"""Log line parsers and client families."""

from __future__ import annotations

import time

import pytest

from speculum.stats import clients, parse

SPECULUM = (b"2026-11-21T10:00:00+01:00\t192.0.2.1\tGET\t/debian/pool/main/h/hello.deb\tHTTP/1.1\t200\t12345\t"
            b"0.002\t-\tDebian APT-HTTP/1.3 (2.6.1)\tmirror.example.edu\thttp")
COMBINED = b'2001:db8::1 - - [21/Nov/2026:10:00:00 +0000] "GET /debian/x?y=1 HTTP/1.1" 404 - "-" "curl/8.0"'
RSYNC = b"2026/11/21 10:00:00 [1234] send client.example [192.0.2.1] debian (anonymous) pool/main/x.deb 12345"


def test_speculum_line():
    fmt = parse.Speculum()
    hit = parse.Hit(*fmt.parse(SPECULUM))
    assert (hit.ip, hit.method, hit.path, hit.status, hit.size) == (
        b"192.0.2.1", b"GET", b"/debian/pool/main/h/hello.deb", b"200", 12345)
    assert fmt.hour(hit.ts) == "2026-11-21T09"  # UTC
    assert fmt.parse(SPECULUM.replace(b"\t200\t", b"\tx\t")) is None
    assert fmt.parse(b"garbage") is None


def test_combined_line():
    fmt = parse.Combined()
    hit = parse.Hit(*fmt.parse(COMBINED))
    assert (hit.ip, hit.path, hit.status, hit.size, hit.agent) == (b"2001:db8::1", b"/debian/x?y=1", b"404", 0,
                                                                  b"curl/8.0")
    assert fmt.hour(hit.ts) == "2026-11-21T10"
    bad_request = b'192.0.2.9 - - [21/Nov/2026:10:00:00 +0000] "\\x16\\x03" 400 150 "-" "-"'
    assert parse.Hit(*fmt.parse(bad_request)).path == b""
    assert fmt.parse(SPECULUM) is None
    apache = b'192.0.2.9 - - [21/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "say \\"hi\\""'
    assert parse.Hit(*fmt.parse(apache)).agent == b'say \\"hi\\"'


def test_rsyncd_line(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    fmt = parse.Rsyncd()
    hit = parse.Hit(*fmt.parse(RSYNC))
    assert (hit.ip, hit.path, hit.status, hit.size) == (b"192.0.2.1", b"/debian/pool/main/x.deb", b"200", 12345)
    assert fmt.parse(b"2026/11/21 10:00:01 [1234] connect from client.example (192.0.2.1)") is parse.SKIP
    assert fmt.parse(b"2026/11/21 10:00:01 [1234] recv client.example [192.0.2.1] up (u) a 1") is parse.SKIP
    assert fmt.parse(b"no rsync line") is None


@pytest.mark.parametrize(("head", "name"), [(SPECULUM, "speculum"), (COMBINED, "combined"), (RSYNC, "rsyncd")])
def test_detect(head, name):
    assert parse.detect(b"junk\n" + head + b"\n" + head + b"\n").name == name
    assert parse.detect(b"junk\nmore junk\n") is None


@pytest.mark.parametrize(("agent", "family"), [
    (b"Debian APT-HTTP/1.3 (2.6.1)", "apt"), (b"libdnf (Fedora Linux 40)", "dnf/yum"),
    (b"urlgrabber/3.10 yum/3.4.3", "dnf/yum"), (b"pacman/6.1.0 (Linux x86_64) libalpm/14.0.0", "pacman"),
    (b"ZYpp 17.31.15 (curl 8.0.1)", "zypper"), (b"curl/8.0", "curl/wget"), (b"Wget/1.21", "curl/wget"),
    (b"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "browser"), (b"rsync", "rsync"), (b"-", "other")])
def test_families(agent, family):
    assert parse.Families()(agent) == family


def test_hyperloglog_estimate_and_merge():
    key = b"k" * 16
    a, b = clients.empty(), clients.empty()
    clients.add(a, (f"192.0.2.{i}".encode() for i in range(200)), key)
    clients.add(a, (f"192.0.2.{i}".encode() for i in range(200)), key)  # twice: no change
    clients.add(b, (f"10.0.{i // 256}.{i % 256}".encode() for i in range(20_000)), key)
    assert abs(clients.estimate(a) - 200) <= 4
    assert abs(clients.estimate(b) - 20_000) <= 1_000
    assert abs(clients.estimate(clients.merge(a, b)) - 20_200) <= 1_000
