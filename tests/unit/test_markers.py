"""Freshness markers: real-shaped samples of every format, malformed ones, and
junk of every kind -- parse_marker returns a plausible float or raises ValueError."""

from __future__ import annotations

import math
import os
import random
import time
from datetime import UTC, datetime

import pytest

from speculum.markers import EARLIEST, LATEST, marker_time, parse_marker
from speculum.schema import MARKER_FORMATS

TEXT_FORMATS = [f for f in MARKER_FORMATS if f != "mtime"]

# --- real-shaped samples ------------------------------------------------------------------

ARCH_LASTSYNC = "1763700000\n"
ARCH_LASTSYNC_BARE = "1763700000"
CENTOS_TIME = "1763698461\n"
DEBIAN_TRACE = (
    "Date: Sat, 21 Nov 2026 03:24:11 +0000\n"
    "Date-Started: Sat, 21 Nov 2026 03:00:01 +0000\n"
    "Archive serial: 2026112101\n"
    "Used ftpsync version: 20180513\n"
    "Running on host: ftp-master.debian.org\n"
    "Architectures: GUESSED:{ all amd64 arm64 armel armhf i386 mips64el ppc64el riscv64 s390x source}\n"
    "Architectures-Configuration: ALL\n"
    "Upstream-mirror: ftp-master.debian.org\n"
    "SSL: true\n"
    "Total bytes received in rsync: 123\n"
    "Total time spent in stage1 rsync: 3\n"
    "Total time spent in stage2 rsync: 1\n"
    "Total time spent in rsync: 4\n"
    "Average rate: 30 B/s\n"
)
DEBIAN_TRACE_STARTED_FIRST = (
    "Date-Started: Sat, 21 Nov 2026 03:00:01 +0000\n"
    "Archive serial: 2026112101\n"
    "Date: Sat, 21 Nov 2026 04:24:11 +0100\n"
    "Used ftpsync version: 20180513\n"
)
DEBIAN_TRACE_OLD = (
    "Sat Nov 21 03:24:11 UTC 2026\n"
    "Used ftpsync version: 20120521\n"
    "Running on host: ftp.example.org\n"
    "Architectures: amd64 i386 source\n"
)
DEBIAN_TRACE_RFC2822_FIRST_LINE = "Sat, 21 Nov 2026 03:24:11 +0000\nUsed ftpsync version: 20160306\n"
MANJARO_STATE = "state=f0a8b3c8d1e2\nbranch=stable\ndate=2026-11-21T05:00:12Z\n"
MANJARO_STATE_REORDERED = "date=2026-11-21T05:00:12Z\nbranch=stable\nstate=f0a8b3c8d1e2\n"
MANJARO_STATE_OFFSET = "state=f0a8b3c8d1e2\nbranch=stable\ndate=2026-11-21T05:00:12+00:00\n"
MANJARO_STATE_NO_ZONE = "state=f0a8b3c8d1e2\r\nbranch=stable\r\ndate=2026-11-21T05:00:12\r\n"
CTAN_TIMESTAMP_UNIX = "1763700000\n"
CTAN_TIMESTAMP_SLASHED = "2026/11/21 05:00:12\n"
CTAN_TIMESTAMP_DASHED = "2026-11-21 05:00:12\n"

TRACE_DATE = datetime(2026, 11, 21, 3, 24, 11, tzinfo=UTC).timestamp()
MANJARO_DATE = datetime(2026, 11, 21, 5, 0, 12, tzinfo=UTC).timestamp()

VALID = [
    (ARCH_LASTSYNC, "unix", 1763700000),
    (ARCH_LASTSYNC_BARE, "unix", 1763700000),
    (CENTOS_TIME, "centos-time", 1763698461),
    ("\ufeff1763698461\r\n", "centos-time", 1763698461),  # BOM and CRLF
    ("1763698461.25\n", "unix", 1763698461.25),
    (DEBIAN_TRACE, "debian-trace", TRACE_DATE),
    (DEBIAN_TRACE_STARTED_FIRST, "debian-trace", TRACE_DATE),
    (DEBIAN_TRACE_OLD, "debian-trace", TRACE_DATE),
    (DEBIAN_TRACE_RFC2822_FIRST_LINE, "debian-trace", TRACE_DATE),
    ("Date: Sat, 21 Nov 2026 03:24:11\n", "debian-trace", TRACE_DATE),  # no zone: UTC
    (MANJARO_STATE, "manjaro-state", MANJARO_DATE),
    (MANJARO_STATE_REORDERED, "manjaro-state", MANJARO_DATE),
    (MANJARO_STATE_OFFSET, "manjaro-state", MANJARO_DATE),
    (MANJARO_STATE_NO_ZONE, "manjaro-state", MANJARO_DATE),
    ("state=x\ndate=2026-11-21T06:00:12+01:00\n", "manjaro-state", MANJARO_DATE),
    (CTAN_TIMESTAMP_UNIX, "ctan-timestamp", 1763700000),
    (CTAN_TIMESTAMP_SLASHED, "ctan-timestamp", MANJARO_DATE),
    (CTAN_TIMESTAMP_DASHED, "ctan-timestamp", MANJARO_DATE),
    ("2026-11-21T05:00:12Z", "ctan-timestamp", MANJARO_DATE),
    ("2026/11/21 05:00:12 UTC\n", "ctan-timestamp", MANJARO_DATE),
]
SAMPLES = sorted({text for text, _, _ in VALID})

HTML_404 = "<html><body>404 Not Found</body></html>"
MALFORMED_ANY = ["", " \n\t ", "garbage", "Date: not a date", "nan", "inf", "-inf", "-5", "1e400",
                 "99999999999999999999", "12:00", HTML_404, "\x00" * 64, "date=yesterday"]
MALFORMED = [
    ("Used ftpsync version: 20180513\nRunning on host: ftp.example.org\n", "debian-trace"),  # no Date
    ("Date-Started: Sat, 21 Nov 2026 03:00:01 +0000\nSSL: true\n", "debian-trace"),  # only Date-Started
    ("Date: soon\nSat, 21 Nov 2026 03:24:11 +0000\n", "debian-trace"),  # a bad Date: is not skipped
    ("Date: Sat, 21 Nov 2026 03:24:11 +9999\n", "debian-trace"),  # offset out of range
    ("Date: Mon, 01 Jan 99999 00:00:00 +0000\n", "debian-trace"),
    # the email parser raises OverflowError on these
    ("Date: Sat, 21 Nov 99999999999999999999 03:24:11 +0000 2026\n", "debian-trace"),
    ("Date: Sat, 99999999999999999999 Nov 2026 03:24:11 +0000\n", "debian-trace"),
    ("Sat, 21 Nov 2026 03:24:11 +99999999999999999999\n", "debian-trace"),
    ("Date: Sat, 21 Nov 2026 03:2\n", "debian-trace"),  # truncated: not 03:02
    ("Sat Nov 21 03:24:11 UTC 2\n", "debian-trace"),  # truncated: not 2002
    ("date=2026-11-21\n", "manjaro-state"),  # truncated: not midnight
    ("2026/11/21 05:00\n", "ctan-timestamp"),
    ("state=f0a8b3c8d1e2\nbranch=stable\n", "manjaro-state"),  # no date=
    ("state=f0a8b3c8d1e2\ndate=\n", "manjaro-state"),
    ("state=f0a8b3c8d1e2\nupdate=2026-11-21T05:00:12Z\n", "manjaro-state"),
    ("date=9999-12-31T23:59:59-23:59\n", "manjaro-state"),  # after 2200
    ("date=1989-12-31T23:59:59Z\n", "manjaro-state"),  # before 1990
    ("2026/11/21\n", "ctan-timestamp"),
    ("2026/13/21 05:00:12\n", "ctan-timestamp"),
    ("2026/11/21 05:00:12 CET\n", "ctan-timestamp"),  # not UTC and not an offset we read
    ("1989/12/31 23:59:59\n", "ctan-timestamp"),
    ("0x6921ab20\n", "unix"),
    ("1_763_700_000\n", "unix"),
    ("+1763700000\n", "unix"),
    ("\u0661\u0667\u0666\u0663\u0667\u0660\u0660\u0660\u0660\u0660\n", "unix"),  # Arabic-Indic digits
    ("631151999\n", "unix"),  # 1989-12-31T23:59:59Z
    ("7258118401\n", "centos-time"),  # 2200-01-01T00:00:01Z
    ("1" * 5000, "centos-time"),
]


def assert_malformed(text: str, fmt: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_marker(text, fmt)
    assert type(info.value) is ValueError
    assert fmt in str(info.value), f"message does not name the format: {info.value}"


def check(text: str, fmt: str) -> None:
    """A plausible float or ValueError: the contract for any input at all."""
    try:
        value = parse_marker(text, fmt)
    except ValueError as exc:
        assert type(exc) is ValueError, (text, fmt, exc)
        return
    assert type(value) is float and math.isfinite(value) and EARLIEST <= value <= LATEST, (text, fmt, value)


# --- valid samples -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fmt", "expected"), VALID)
def test_real_samples(text, fmt, expected):
    value = parse_marker(text, fmt)
    assert type(value) is float and value == expected


def test_sample_dates_are_what_they_say():
    assert TRACE_DATE == 1795231451 and MANJARO_DATE == 1795237212
    assert datetime.fromtimestamp(1763700000, UTC) == datetime(2025, 11, 21, 4, 40, tzinfo=UTC)


def test_every_schema_format_works():
    assert set(MARKER_FORMATS) == {"unix", "centos-time", "debian-trace", "manjaro-state",
                                   "ctan-timestamp", "mtime"}
    assert {fmt for _, fmt, _ in VALID} == set(TEXT_FORMATS)


def test_bounds_are_1990_and_2200():
    assert EARLIEST == datetime(1990, 1, 1, tzinfo=UTC).timestamp() == 631152000
    assert LATEST == datetime(2200, 1, 1, tzinfo=UTC).timestamp() == 7258118400
    assert parse_marker("631152000", "unix") == EARLIEST
    assert parse_marker("7258118400", "unix") == LATEST


@pytest.fixture
def far_timezone(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset")
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_timezone")
@pytest.mark.parametrize(("text", "fmt"), [
    (MANJARO_STATE_NO_ZONE, "manjaro-state"),
    (CTAN_TIMESTAMP_SLASHED, "ctan-timestamp"),
    (CTAN_TIMESTAMP_DASHED, "ctan-timestamp"),
])
def test_zone_less_dates_are_utc_whatever_the_local_zone(text, fmt):
    assert time.strftime("%z") == "+0530"
    assert parse_marker(text, fmt) == MANJARO_DATE


# --- malformed -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("text", MALFORMED_ANY)
def test_malformed_in_every_format(text, fmt):
    assert_malformed(text, fmt)


@pytest.mark.parametrize(("text", "fmt"), MALFORMED)
def test_malformed_samples(text, fmt):
    assert_malformed(text, fmt)


@pytest.mark.parametrize("fmt", ["", "UNIX", "iso", "debian_trace", "mtime"])
def test_unknown_formats(fmt):
    with pytest.raises(ValueError, match="unknown marker format"):
        parse_marker(ARCH_LASTSYNC, fmt)


def test_the_message_quotes_the_text():
    with pytest.raises(ValueError, match=r"not a unix marker: '<html>.*404"):
        parse_marker(HTML_404, "unix")


# --- junk: a float or ValueError, nothing else ------------------------------------------------

def junk() -> list[str]:
    rng = random.Random(20261121)
    texts = ["\ud800", "\udfff1763700000", "\x00" * 9000, "Date: " + "9" * 5000, "date=" + "9" * 5000,
             "9" * 400, "1e309", "1" + "0" * 400 + ".5", "Date:", "Date: \n", "date=Z", "date=T",
             "Date: 0 0 0 0:0:0 +0000", "Date: Sat, 31 Feb 2026 03:24:11 +0000", "date=2026-02-31T00:00:00",
             "Sat Nov 21 99:99:99 UTC 2026", "Sat Nov 21 03:24:11 UTC -2026", "2026/00/00 00:00:00",
             "2026/11/21 24:00:00", "2026-11-21 05:00:12+99:00", "date=2026-11-21T05:00:12+24:00",
             "Date: Sat, 21 Nov 2026 03:24:11 -99999999999999999999999999",
             "Date: Sat, 21 Nov " + "9" * 5000 + " 03:24:11 +0000 2026",
             "\r", "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", "\ufeff", "\ufeff\ufeff1763700000"]
    for _ in range(400):
        texts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(64))).decode("utf-8", "replace"))
        texts.append("".join(rng.choice("0123456789 :-/+.TZWdateDAE=\n\t\r,SatNovUTCGMnif")
                             for _ in range(rng.randrange(40))))
        texts.append("".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(16))))
    for sample in SAMPLES:
        texts += [sample[:i] for i in range(len(sample) + 1)]
        texts += [sample[i:] for i in range(len(sample))]
        for _ in range(20):
            i = rng.randrange(len(sample))
            texts.append(sample[:i] + chr(rng.randrange(0x110000)) + sample[i + 1:])
    return texts


JUNK = junk()


@pytest.mark.parametrize("fmt", [*MARKER_FORMATS, "bogus"])
def test_junk_gives_a_float_or_value_error(fmt):
    assert len(JUNK) > 3000
    for text in JUNK:
        check(text, fmt)


@pytest.mark.parametrize(("text", "fmt", "expected"), VALID)
def test_truncated_samples_are_never_read_as_a_different_plausible_time(text, fmt, expected):
    """A prefix that parses is the whole marker, less later lines or digits after the point
    (no '03:2' for 03:24:11, no year 2 read as 2002, no date without its time) -- unless the
    cut is at or in the zone, when the rest is read as UTC."""
    for i in range(len(text)):
        check(text[:i], fmt)
        try:
            value = parse_marker(text[:i], fmt)
        except ValueError:
            continue
        cut_zone = "+" in text[:i].split()[-1] or text[i:].lstrip().startswith("+")
        assert abs(value - expected) < 1 or cut_zone, (text[:i], value)


# --- marker_time -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fmt", "expected"), VALID)
def test_marker_time_reads_the_file(tmp_path, text, fmt, expected):
    path = tmp_path / "marker"
    path.write_bytes(text.encode())
    assert marker_time(path, fmt) == expected
    assert marker_time(str(path), fmt) == expected


def test_marker_time_mtime(tmp_path):
    path = tmp_path / "stamp"
    path.write_text("its modification time is the marker\n")
    os.utime(path, (1700000000, 1763700000))
    assert marker_time(path, "mtime") == 1763700000


def test_marker_time_reads_only_the_first_8_kib(tmp_path):
    path = tmp_path / "state"
    path.write_bytes(b"state=f0a8b3c8d1e2\n" + b"#" * 8192 + b"\ndate=2026-11-21T05:00:12Z\n")
    with pytest.raises(ValueError, match="manjaro-state"):
        marker_time(path, "manjaro-state")
    path.write_bytes(MANJARO_STATE.encode() + b"#" * 100_000)
    assert marker_time(path, "manjaro-state") == MANJARO_DATE


def test_marker_time_binary_junk(tmp_path):
    path = tmp_path / "lastsync"
    path.write_bytes(bytes(range(256)) * 64)
    for fmt in TEXT_FORMATS:
        with pytest.raises(ValueError, match=fmt):
            marker_time(path, fmt)


@pytest.mark.parametrize("fmt", MARKER_FORMATS)
def test_marker_time_missing_file(tmp_path, fmt):
    with pytest.raises(FileNotFoundError):
        marker_time(tmp_path / "lastsync", fmt)


@pytest.mark.parametrize("fmt", MARKER_FORMATS)
def test_marker_time_directory(tmp_path, fmt):
    with pytest.raises((OSError, ValueError)):
        marker_time(tmp_path, fmt)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_marker_time_does_not_block_on_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "lastsync")
    with pytest.raises(ValueError, match="not a regular file"):
        marker_time(tmp_path / "lastsync", "unix")
