"""What a restore must bring back, read on a mirror host (python3 on the
host; the scenario runs it on host A before the backup and the tests on host
B after the restore). Prints one JSON object."""

import glob
import json
import os
import subprocess

STATE = "/var/lib/speculum"


def run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def main() -> None:
    report = json.loads(run("mirrorctl", "stats", "report", "--json"))
    # "other" holds requests outside the projects (the monitor's own checks of
    # "/"), which the new host makes too; the projects' counts are A's alone.
    projects = {pid: {k: p[k] for k in ("requests", "bytes", "status", "clients", "top_files")}
                for pid, p in report["projects"].items() if pid != "other"}
    history = {}
    for path in sorted(glob.glob(f"{STATE}/status/*.json")):
        with open(path) as handle:
            history[os.path.basename(path)[:-5]] = json.load(handle).get("history", [])
    vnstat = json.loads(run("vnstat", "--json"))["interfaces"][0]
    cert = glob.glob("/etc/letsencrypt/live/*/cert.pem")
    serial = run("openssl", "x509", "-noout", "-serial", "-in", cert[0]).strip() if cert else None
    sent = None
    if os.path.exists(f"{STATE}/news-sent.json"):
        with open(f"{STATE}/news-sent.json") as handle:
            sent = json.load(handle)
    print(json.dumps({
        "projects": projects, "history": history, "cert_serial": serial, "news_sent": sent,
        "vnstat": {"name": vnstat["name"], "created": vnstat["created"]["timestamp"],
                   "rx": vnstat["traffic"]["total"]["rx"], "tx": vnstat["traffic"]["total"]["tx"]},
    }, sort_keys=True))


main()
