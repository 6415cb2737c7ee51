"""`mirrorctl stats` totals equal GoAccess's on the same generated mirror log.

How GoAccess 1.7 counts (found by experiment, checked again by
test_goaccess_counts_as_documented so a new GoAccess cannot silently change it):
* general.total_requests is every non-empty line, valid or not: failed
  (malformed) lines are in it, empty lines are not counted anywhere; a line of
  spaces is a failed request. valid_requests = total_requests - failed_requests.
* bandwidth and the status-code panel cover the valid requests only, every
  status included (4xx and 5xx are requests and their bytes count), HEAD and
  304 with their 0 bytes; IPv6 clients are valid.
So the ingester's totals.requests compares with valid_requests, not
total_requests. Definitional differences the sample avoids on purpose: a
combined line that ends after the status and bytes (no referer or agent) is
valid for GoAccess but malformed for the ingester, and GoAccess validates the
client address where the ingester does not; the generator's broken lines are
cut before the status, garbage or empty, malformed for both.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from speculum import cli

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("loggen", REPO / "bench" / "loggen.py")
loggen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(loggen)

CLASSES = ("2xx", "3xx", "4xx", "5xx", "other")  # GoAccess has no "other": it fails an unknown status
LINES, SEED = 5_000, 1  # seed 1: 18 malformed lines, 2 of them empty

pytestmark = pytest.mark.skipif(shutil.which("goaccess") is None,
                                reason="goaccess is not installed (Debian package goaccess; scripts/setup.sh)")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The generated logs (both formats, same requests), what was generated, and GoAccess's JSON report."""
    work = tmp_path_factory.mktemp("goaccess")
    logs = {fmt: work / f"{fmt}.log" for fmt in loggen.FORMATS}
    info = {fmt: loggen.generate(path, LINES, SEED, fmt) for fmt, path in logs.items()}
    report = work / "report.json"
    subprocess.run(["goaccess", str(logs["combined"]), "--log-format=COMBINED", "--no-global-config",
                    "--no-progress", "-o", str(report)], check=True, capture_output=True, timeout=120)
    return logs, info["combined"], json.loads(report.read_text())


def goaccess_totals(report: dict) -> dict:
    status = dict.fromkeys(CLASSES, 0)
    for group in report["status_codes"]["data"]:  # "2xx Success", "3xx Redirection", ...
        status[group["data"][:3]] += group["hits"]["count"]
    general = report["general"]
    return {"requests": general["valid_requests"], "bytes": general["bandwidth"], "status": status,
            "malformed": general["failed_requests"]}


def test_the_sample_exercises_the_comparison(sample):
    logs, info, _ = sample
    assert info["malformed"] > info["empty"] > 0
    clients = [line.split(" ", 1)[0] for line in logs["combined"].read_text().splitlines() if line]
    assert sum(":" in c for c in clients) > 100  # IPv6 clients
    totals = goaccess_totals(sample[2])
    assert all(totals["status"][c] > 0 for c in CLASSES[:4])


def test_goaccess_counts_as_documented(sample):
    _, info, report = sample
    general = report["general"]
    assert general["total_requests"] == LINES - info["empty"]
    assert general["failed_requests"] == info["malformed"] - info["empty"]
    assert general["valid_requests"] == info["valid"]
    panel = report["status_codes"]["data"]
    assert sum(g["hits"]["count"] for g in panel) == general["valid_requests"]
    assert sum(g["bytes"]["count"] for g in panel) == general["bandwidth"]


@pytest.mark.parametrize("fmt", ["combined", "speculum"])
def test_ingester_totals_equal_goaccess(sample, fmt, tmp_path, capsys):
    logs, _, report = sample
    store = str(tmp_path / "stats.sqlite")
    # the log right after `ingest`: with options first, argparse leaves LOG… unmatched
    assert cli.main(["stats", "ingest", str(logs[fmt]), "--store", store, "--format", fmt,
                     "--projects", ",".join(loggen.PROJECTS)]) == 0
    capsys.readouterr()
    assert cli.main(["stats", "report", "--store", store, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    totals = data["totals"]
    ours = {"requests": totals["requests"], "bytes": totals["bytes"],
            "status": {c: totals["status"].get(c, 0) for c in CLASSES},
            "malformed": data["malformed"]}  # both leave empty lines out
    assert ours == goaccess_totals(report)
