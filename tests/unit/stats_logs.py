"""Deterministic access logs for the stats tests (speculum, combined and rsyncd formats)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

PROJECTS = ("debian", "ubuntu", "archlinux", "fedora")
AGENTS = ("Debian APT-HTTP/1.3 (2.6.1)", "libdnf (Fedora Linux 40; server)", "pacman/6.1.0 (Linux x86_64)",
          "ZYpp 17.31.15", "curl/8.0.1", "Wget/1.21.3", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
          "Go-http-client/1.1")
STATUSES = (200,) * 12 + (206, 304, 404, 403, 500, 503)
START = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)


def speculum_lines(n: int, seed: int = 1, malformed_every: int = 997, start: datetime = START,
                   seconds: int = 7200) -> list[str]:
    """``n`` lines spread over ``seconds`` (over midnight by default), every
    ``malformed_every``-th line garbage; each line ends with a newline."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        if malformed_every and i % malformed_every == malformed_every - 1:
            lines.append(f"garbage line {i} \"with quotes\"\n")
            continue
        ts = (start + timedelta(seconds=i * seconds // n)).isoformat()
        ip = f"192.0.2.{rng.randrange(1, 255)}" if rng.random() < 0.7 else f"2001:db8::{rng.randrange(1, 999):x}"
        project = rng.choice(PROJECTS + ("robots.txt", "favicon.ico", ""))
        path = f"/{project}/pool/f{rng.randrange(40)}.deb" + ("?x=1" if rng.random() < 0.05 else "")
        size = rng.randrange(100_000)
        lines.append(f"{ts}\t{ip}\tGET\t{path}\tHTTP/1.1\t{rng.choice(STATUSES)}\t{size}\t0.002\t-\t"
                     f"{rng.choice(AGENTS)}\tmirror.example.edu\thttp\n")
    return lines


def expected(lines: list[str]) -> dict:
    """Totals computed straight from speculum-format lines: requests, bytes, status classes, per project."""
    out = {"requests": 0, "bytes": 0, "malformed": 0, "projects": {}}
    for line in lines:
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 12:
            out["malformed"] += 1
            continue
        segment = fields[3].split("/")[1]
        project = segment if segment in PROJECTS else "other"
        for target in (out, out["projects"].setdefault(project, {"requests": 0, "bytes": 0})):
            target["requests"] += 1
            target["bytes"] += int(fields[6])
    return out
