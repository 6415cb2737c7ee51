#!/usr/bin/env python3
"""Deploy time against the number of projects: 200 projects must not take
many times longer than 10.

Reference and candidate are measured in the same run, on the same throwaway
container (the lab image, booted with systemd): from a converged host with one
project, deploy 10 projects and time it; go back to one project; deploy 200
and time it. Also times the no-change re-run at both sizes.

Usage: bench/deploy_scale.py [--small 10] [--large 200] [--max-ratio 3]
Prints a Markdown table; exits 1 when the ratio exceeds --max-ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "speculum-bench"
IMAGE = "localhost/speculum/debian12:latest"
PERIODS = (1, 2, 3, 4, 6, 8, 12, 24)


def database(count: int) -> dict:
    return {"speculum_projects": {
        f"p{n:03d}": {
            "name": f"Project {n}",
            "category": ("Distributions", "Software", "Miscellaneous")[n % 3],
            "enabled": True,
            "sync": {"method": "rsync", "upstream": f"rsync://upstream.invalid/p{n:03d}/",
                     "syncs_per_day": PERIODS[n % len(PERIODS)]},
        } for n in range(count)}}


def sh(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, text=True, **kwargs)


def deploy(workdir: Path, count: int) -> float:
    """Seconds of one `ansible-playbook site.yml` with ``count`` projects."""
    extra = workdir / f"db-{count}.json"
    extra.write_text(json.dumps(database(count)))
    started = time.monotonic()
    result = subprocess.run(
        ["ansible-playbook", "-i", str(workdir / "hosts.yml"), "-e", f"@{extra}", "site.yml"],
        cwd=ROOT, text=True, capture_output=True)
    elapsed = time.monotonic() - started
    if result.returncode:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"deploy of {count} projects failed")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=200)
    parser.add_argument("--max-ratio", type=float, default=3.0)
    args = parser.parse_args()
    os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "lab/containers.conf"))
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    sh(str(ROOT / "lab/image.sh"))
    subprocess.run(["podman", "rm", "-f", CONTAINER], capture_output=True)
    sh("podman", "run", "-d", "--name", CONTAINER, "--privileged", "--systemd=always",
       IMAGE, "/sbin/init", stdout=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            (workdir / "hosts.yml").write_text(json.dumps({"mirrors": {"hosts": {CONTAINER: {
                "ansible_connection": "containers.podman.podman",
                "ansible_python_interpreter": "/usr/bin/python3"}}}}))
            for _ in range(60):
                state = subprocess.run(["podman", "exec", CONTAINER, "systemctl", "is-system-running"],
                                       capture_output=True, text=True).stdout.strip()
                if state in ("running", "degraded"):
                    break
                time.sleep(0.5)
            first = deploy(workdir, 1)  # packages, user, nginx: not measured against
            small = deploy(workdir, args.small)
            small_again = deploy(workdir, args.small)
            deploy(workdir, 1)
            large = deploy(workdir, args.large)
            large_again = deploy(workdir, args.large)
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "5", CONTAINER], capture_output=True)
    ratio = large / small
    print(f"| measurement | {args.small} projects | {args.large} projects | ratio |")
    print("|---|---|---|---|")
    print(f"| deploy from 1 project | {small:.1f} s | {large:.1f} s | {ratio:.2f} |")
    print(f"| no-change re-run | {small_again:.1f} s | {large_again:.1f} s | "
          f"{large_again / small_again:.2f} |")
    print(f"\n(first deploy of a bare host, 1 project: {first:.1f} s; target: ratio <= {args.max_ratio})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
