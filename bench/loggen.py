#!/usr/bin/env python3
"""Deterministic mirror-shaped access logs, for the log statistics benchmark and tests.

One request stream (random.Random(seed)) is written either in nginx's
``combined`` format (what GoAccess reads with --log-format=COMBINED) or in
Speculum's ``speculum`` format (roles/nginx/templates/speculum-log.conf.j2:
12 tab-separated fields). The same seed gives the same requests in both
formats, and a shorter log is a prefix of a longer one (the request rate does
not depend on the length).

Shape of the stream:
* projects debian, ubuntu, archlinux, fedora, ... chosen with Zipf weights
  (1/rank), plus requests outside any project (/, /static/site.css, ...);
* per project, a few index files (fetched often, mostly 200/304) and a
  catalogue of packages whose popularity is Zipf (1/rank); every file has a
  fixed size;
* clients: a pool of IPv4 and IPv6 addresses (about 1 in 5 IPv6), heavy
  hitters by Zipf;
* user agents of apt, dnf, pacman, zypper, apk, browsers, curl, wget, bots;
* statuses 200 (most), 206 (part of the file), 304 and HEAD (0 bytes),
  301, 404, 403, 500, 503 (small error pages);
* timestamps increasing, about 4 requests/s (1 M lines span ~3 days);
* about 0.3 % malformed lines: a valid line cut before its status, printable
  garbage, or an empty line.

Usage: bench/loggen.py [--lines N] [--seed S] [--format combined|speculum] FILE
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import itertools
import random
import sys
from pathlib import Path

MALFORMED_RATE = 0.003
START = datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC)
MEAN_GAP = 0.25  # seconds between requests
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# project id -> (index files, package path pattern, package suffix, native user agents)
APT = ["Debian APT-HTTP/1.3 (2.6.1)", "Debian APT-HTTP/1.3 (2.2.4)", "Ubuntu APT-HTTP/1.3 (2.4.11)",
       "Debian APT-HTTP/1.3 (2.7.14) non-interactive"]
DNF = ["libdnf (Fedora Linux 39; server; Linux.x86_64)", "libdnf (Fedora Linux 40; workstation; Linux.x86_64)",
       "libdnf (Rocky Linux 9.3; generic; Linux.x86_64)", "urlgrabber/3.10 yum/3.4.3"]
PACMAN = ["pacman/6.0.2 (Linux x86_64) libalpm/13.0.2", "pacman/6.1.0 (Linux x86_64) libalpm/14.0.0"]
ZYPPER = ["ZYpp 17.31.15 (curl 8.0.1) openSUSE-Tumbleweed-x86_64", "ZYpp 17.27.0 (curl 7.79.1) openSUSE-Leap-15.5"]
APK = ["Alpine-Linux/3.19 apk-tools/2.14.0"]
PROJECTS = {
    "debian": (["dists/bookworm/InRelease", "dists/bookworm/main/binary-amd64/Packages.xz",
                "dists/bookworm-updates/InRelease", "dists/trixie/InRelease"],
               "pool/main/{l}/{p}/{p}_{v}_amd64", ".deb", APT),
    "ubuntu": (["dists/jammy/InRelease", "dists/jammy-updates/InRelease", "dists/noble/InRelease",
                "dists/jammy/main/binary-amd64/by-hash/SHA256/3f1e9a"],
               "pool/main/{l}/{p}/{p}_{v}ubuntu1_amd64", ".deb", APT),
    "archlinux": (["core/os/x86_64/core.db", "extra/os/x86_64/extra.db", "lastupdate"],
                  "extra/os/x86_64/{p}-{v}-1-x86_64", ".pkg.tar.zst", PACMAN),
    "fedora": (["linux/releases/39/Everything/x86_64/os/repodata/repomd.xml",
                "linux/updates/39/Everything/x86_64/repodata/repomd.xml"],
               "linux/updates/39/Everything/x86_64/Packages/{l}/{p}-{v}.fc39.x86_64", ".rpm", DNF),
    "opensuse": (["tumbleweed/repo/oss/repodata/repomd.xml", "update/leap/15.5/oss/repodata/repomd.xml"],
                 "tumbleweed/repo/oss/x86_64/{p}-{v}.1.x86_64", ".rpm", ZYPPER),
    "almalinux": (["9/BaseOS/x86_64/os/repodata/repomd.xml"], "9/AppStream/x86_64/os/Packages/{p}-{v}.el9.x86_64",
                  ".rpm", DNF),
    "alpine": (["v3.19/main/x86_64/APKINDEX.tar.gz", "edge/community/x86_64/APKINDEX.tar.gz"],
               "v3.19/main/x86_64/{p}-{v}-r0", ".apk", APK),
    "linuxmint": (["dists/virginia/InRelease"], "pool/main/{l}/{p}/{p}_{v}_all", ".deb", APT),
    "epel": (["9/Everything/x86_64/repodata/repomd.xml"], "9/Everything/x86_64/Packages/{l}/{p}-{v}.el9.noarch",
             ".rpm", DNF),
    "gentoo": (["releases/amd64/autobuilds/latest-stage3.txt"], "distfiles/{l}{l}/{p}-{v}", ".tar.xz", []),
    "kernel": (["pub/linux/kernel/v6.x/sha256sums.asc"], "pub/linux/kernel/v6.x/{p}-{v}", ".tar.xz", []),
    "centos-stream": (["9-stream/BaseOS/x86_64/os/repodata/repomd.xml"],
                      "9-stream/BaseOS/x86_64/os/Packages/{p}-{v}.el9.x86_64", ".rpm", DNF),
}
ISO_PROJECTS = {"debian": "debian-cd/12.5.0/amd64/iso-cd/debian-12.5.0-amd64-netinst.iso",
                "ubuntu": "releases/24.04/ubuntu-24.04-desktop-amd64.iso",
                "fedora": "linux/releases/39/Workstation/x86_64/iso/Fedora-Workstation-Live-x86_64-39-1.5.iso",
                "archlinux": "iso/2024.03.01/archlinux-2024.03.01-x86_64.iso"}
OUTSIDE = [("/", 9_214), ("/static/site.css", 14_870), ("/favicon.ico", 1_150), ("/robots.txt", 68),
           ("/static/site.js", 6_020), ("/api/v1/projects.json", 48_311), ("/feed.xml", 22_540)]
BROWSERS = ["Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/122.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.3 Safari/605.1.15"]
TOOLS = ["curl/7.88.1", "curl/8.5.0", "Wget/1.21.3", "Wget/1.21.4", "rsync-http-checker/1.0"]
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mirror-Checker/2.1 (+https://mirrors.example.org/status)"]
REFERERS = ["https://www.debian.org/mirror/list", "https://archlinux.org/download/", "https://mirror.example.org/",
            "https://www.google.com/"]
WORDS = ["lib", "python3", "gcc", "linux", "perl", "openssl", "nginx", "firefox", "mesa", "glibc", "systemd",
         "curl", "vim", "rust", "go", "node", "qt6", "gtk4", "zlib", "xz", "kde", "gnome", "x11", "ruby"]
# status, weight, bytes: "full" (the file), "part", "zero", or an error page size
STATUSES = [(200, 86.0, "full"), (206, 2.5, "part"), (304, 6.0, "zero"), (301, 0.8, 169), (404, 3.5, 153),
            (403, 0.4, 153), (500, 0.3, 177), (503, 0.5, 197)]


def _cumulative(weights):
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: list, cum: list):
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


class Catalogue:
    """The files of one project, Zipf-popular, each with a fixed size."""

    def __init__(self, pid: str, rng: random.Random, size: int = 4000):
        index, pattern, suffix, self.agents = PROJECTS[pid]
        files = [(f"/{pid}/{name}", rng.randrange(2_000, 400_000)) for name in index]
        for _ in range(size):
            name = rng.choice(WORDS) + rng.choice(["", "-dev", "-common", "-doc", str(rng.randrange(2, 9))])
            version = f"{rng.randrange(0, 12)}.{rng.randrange(0, 40)}.{rng.randrange(0, 9)}"
            path = pattern.format(l=name[0], p=name, v=version)
            files.append((f"/{pid}/{path}{suffix}", int(rng.lognormvariate(11.5, 1.6)) + 800))
        if pid in ISO_PROJECTS:  # an installer image: popular, but well behind the indexes
            files.insert(40, (f"/{pid}/{ISO_PROJECTS[pid]}", rng.randrange(600_000_000, 4_500_000_000)))
        self.files = files
        self.cum = _cumulative(1 / rank for rank in range(1, len(files) + 1))


def _clients(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        if rng.random() < 0.2:
            groups = [0x2001, 0xdb8, rng.randrange(0x10000), rng.randrange(0x10000)]
            tail = [rng.randrange(0x10000) for _ in range(rng.choice([1, 2, 3]))]
            out.append(":".join(f"{g:x}" for g in groups) + "::" + ":".join(f"{g:x}" for g in tail))
        else:
            out.append(f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    return out


def requests(seed: int):
    """Yield (time, client, method, uri, status, bytes, request time, referer, agent) forever."""
    rng = random.Random(seed)
    pids = list(PROJECTS)
    catalogues = {pid: Catalogue(pid, rng) for pid in pids}
    project_cum = _cumulative(1 / rank for rank in range(1, len(pids) + 2))  # the last slot: outside
    clients = _clients(rng, 20_000)
    client_cum = _cumulative(1 / rank ** 0.8 for rank in range(1, len(clients) + 1))
    status_cum = _cumulative(w for _, w, _ in STATUSES)
    others = BROWSERS * 3 + TOOLS * 2 + BOTS
    now = START.timestamp()
    while True:
        now += rng.expovariate(1 / MEAN_GAP)
        slot = bisect.bisect(project_cum, rng.random() * project_cum[-1])
        if slot < len(pids):
            catalogue = catalogues[pids[slot]]
            uri, size = _pick(rng, catalogue.files, catalogue.cum)
            native = catalogue.agents
        else:
            uri, size = rng.choice(OUTSIDE)
            native = []
        agent = rng.choice(native) if native and rng.random() < 0.85 else rng.choice(others)
        status, _, kind = _pick(rng, STATUSES, status_cum)
        method = "GET"
        if kind == "full":
            sent = size
            if rng.random() < 0.03:
                method, sent = "HEAD", 0
        elif kind == "part":
            sent = rng.randrange(1, size + 1)
        elif kind == "zero":
            sent = 0
        else:
            sent = kind
        if rng.random() < 0.01:
            uri += f"?v={rng.randrange(1000)}"
        referer = rng.choice(REFERERS) if rng.random() < 0.05 else "-"
        seconds = round(min(sent / rng.uniform(2e5, 1e8), 900.0), 3)
        yield (now, _pick(rng, clients, client_cum), method, uri, status, sent, seconds, referer, agent)


def combined(record) -> str:
    """One request as nginx's combined format."""
    now, client, method, uri, status, sent, _seconds, referer, agent = record
    t = datetime.datetime.fromtimestamp(now, datetime.UTC)
    stamp = f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"
    return f'{client} - - [{stamp}] "{method} {uri} HTTP/1.1" {status} {sent} "{referer}" "{agent}"'


def speculum(record) -> str:
    """One request as the nginx ``speculum`` format (tab-separated, ISO 8601 time)."""
    now, client, method, uri, status, sent, seconds, referer, agent = record
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return "\t".join((stamp, client, method, uri, "HTTP/1.1", str(status), str(sent), f"{seconds:.3f}", referer,
                      agent, "mirror.example.org", "https"))


FORMATS = {"combined": combined, "speculum": speculum}


def malformed(rng: random.Random, kind: float, line: str, fmt: str) -> str:
    """A broken line: the valid one cut before its status, printable garbage, or nothing."""
    if kind < 0.5:
        cut = line.index('" ') + 1 if fmt == "combined" else line.index("\tHTTP/1.1\t")
        return line[:rng.randrange(1, cut)]
    if kind < 0.85:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 -[]/:.") for _ in range(rng.randrange(5, 90)))
    return ""


def generate(path: str | Path, lines: int, seed: int = 1, fmt: str = "combined") -> dict:
    """Write `lines` lines to `path`; return what was written (lines, valid, malformed, empty, bytes)."""
    render = FORMATS[fmt]
    decide = random.Random(seed * 7919 + 1)  # which lines break and how: the same in every format
    junk = random.Random(seed * 7919 + 2)
    stream = requests(seed)
    bad = empty = 0
    with open(path, "w", encoding="ascii", newline="\n") as out:
        batch = []
        for _ in range(lines):
            line = render(next(stream))
            if decide.random() < MALFORMED_RATE:
                line = malformed(junk, decide.random(), line, fmt)
                bad += 1
                empty += not line
            batch.append(line)
            if len(batch) == 10_000:
                out.write("\n".join(batch) + "\n")
                batch = []
        if batch:
            out.write("\n".join(batch) + "\n")
    return {"lines": lines, "valid": lines - bad, "malformed": bad, "empty": empty, "bytes": Path(path).stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a deterministic mirror-shaped access log.")
    parser.add_argument("file")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=sorted(FORMATS), default="combined")
    args = parser.parse_args(argv)
    info = generate(args.file, args.lines, args.seed, args.format)
    print(f"{args.file}: {info['lines']} lines ({info['malformed']} malformed), {info['bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
