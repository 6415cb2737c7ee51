"""A whole check run and the monitor's commands, against real servers: an
rsync daemon as the upstream (its marker), an HTTP server that records what
apprise delivers (json:// URLs), and the mirror's state in a temporary
directory."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from pathlib import Path

import pytest
import servers

from speculum import status
from speculum.cli import main
from speculum.monitor import run, watch
from speculum.monitor.checks import OK, Check
from speculum.monitor.notify import Notifier
from speculum.monitor.settings import parse

NOW = 1_790_000_000.0
UPSTREAM_MARKER = int(NOW) - 3600


class Recorder(http.server.BaseHTTPRequestHandler):
    received: list[dict]

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        self.do_HEAD()
        self.wfile.write(b"ok")

    def do_HEAD(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"json://127.0.0.1:{server.server_port}/", "http": f"http://127.0.0.1:{server.server_port}",
           "received": server.received}
    server.shutdown()


@pytest.fixture
def upstream(tmp_path):
    root = tmp_path / "upstream"
    tree = servers.write_tree(root / "tree", {"lastsync": f"{UPSTREAM_MARKER}\n".encode()})
    with servers.rsync_daemon(root, tree, "secret") as served:
        yield served


def project(upstream_url: str) -> dict:
    return {"id": "arch", "name": "Arch", "enabled": True,
            "sync": {"method": "rsync", "upstream": upstream_url, "syncs_per_day": 4, "timeout": 3600},
            "verify": {"file": "lastsync", "format": "unix"}}


def host(tmp_path: Path, upstream_url: str, *, marker: int | None = UPSTREAM_MARKER) -> dict:
    site = {"state_dir": str(tmp_path / "state"), "mirror_root": str(tmp_path / "mirror"),
            "secrets_dir": str(tmp_path / "secrets"), "metrics_dir": str(tmp_path / "metrics"),
            "log_dir": str(tmp_path / "log")}
    for key in ("mirror_root", "secrets_dir", "metrics_dir"):
        Path(site[key]).mkdir(parents=True, exist_ok=True)
    (Path(site["state_dir"]) / "status").mkdir(parents=True)
    (Path(site["state_dir"]) / "locks").mkdir()
    if marker is not None:
        (Path(site["mirror_root"]) / "arch").mkdir()
        (Path(site["mirror_root"]) / "arch" / "lastsync").write_text(f"{marker}\n")
    return {"site": site, "projects": {"arch": project(upstream_url)}}


def record(cfg: dict, state: str, ended: float, **fields) -> None:
    rec = status.new_record(cfg["projects"]["arch"])
    rec.update(status=state, last_ended_ts=int(ended), **fields)
    if state == status.SUCCESS:
        rec["last_update_ts"] = int(ended)
    status.save(Path(cfg["site"]["state_dir"]) / "status", rec)


def context(cfg: dict, urls: list[str], now: float, **settings) -> run.Context:
    return run.Context(config=cfg, settings=parse({"summary_time": "", **settings}),
                       monitor_dir=Path(cfg["site"]["state_dir"]) / "monitor", now=now,
                       notifier=Notifier(urls), metrics_dir=cfg["site"]["metrics_dir"],
                       host_probe=lambda settings, root, now: [Check("host/http", "http", OK, "answers")])


def test_a_failing_project_alerts_once_through_apprise(tmp_path, upstream, sink):
    cfg = host(tmp_path, upstream["url"] + "/tree/")
    record(cfg, status.FAILED, NOW - 60, exit_code=10, error_msg="rsync exit 10 (socket I/O)")
    first = run.run(context(cfg, [sink["url"]], NOW))
    assert first.failing and first.messages == [] and sink["received"] == []
    second = run.run(context(cfg, [sink["url"]], NOW + 300))
    assert [m.kind for m in second.messages] == ["alert"]
    [sent] = sink["received"]
    assert sent["title"].startswith("[ALERT]") and "arch" in sent["title"] and sent["type"] == "failure"
    assert "rsync exit 10 (socket I/O)" in sent["message"]
    assert run.run(context(cfg, [sink["url"]], NOW + 600)).messages == []
    record(cfg, status.SUCCESS, NOW + 700)
    recovered = run.run(context(cfg, [sink["url"]], NOW + 900))
    assert [m.kind for m in recovered.messages] == ["recovery"] and len(sink["received"]) == 2
    assert sink["received"][1]["type"] == "success"


def test_results_metrics_and_the_upstream_marker(tmp_path, upstream):
    cfg = host(tmp_path, upstream["url"] + "/tree/", marker=UPSTREAM_MARKER - 2 * 86400)
    record(cfg, status.SUCCESS, NOW - 60)
    report = run.run(context(cfg, [], NOW))
    fresh = next(c for c in report.checks if c.name == "freshness")
    assert fresh.state == "fail" and "behind the upstream" in fresh.message
    results = run.load_results(cfg["site"]["state_dir"])
    assert results["checked"] == int(NOW)
    assert run.health(results)["arch"]["check"] == "freshness"
    prom = (Path(cfg["site"]["metrics_dir"]) / "check.prom").read_text()
    assert f'speculum_upstream_marker_timestamp_seconds{{project="arch"}} {UPSTREAM_MARKER}' in prom
    assert 'speculum_freshness_lag_seconds{project="arch"}' in prom
    assert 'speculum_check_state{check="freshness",subject="arch"} 2' in prom


def test_the_upstream_marker_is_read_at_most_every_upstream_every(tmp_path, upstream):
    cfg = host(tmp_path, upstream["url"] + "/tree/")
    record(cfg, status.SUCCESS, NOW - 60)
    run.run(context(cfg, [], NOW))
    state = json.loads((Path(cfg["site"]["state_dir"]) / "monitor" / "state.json").read_text())
    assert state["upstream"]["arch"] == {"ts": UPSTREAM_MARKER, "error": "", "read": NOW}
    (upstream["tree"] / "lastsync").write_text(f"{UPSTREAM_MARKER + 60}\n")
    run.run(context(cfg, [], NOW + 600))  # within 30 minutes: the cached reading
    state = json.loads((Path(cfg["site"]["state_dir"]) / "monitor" / "state.json").read_text())
    assert state["upstream"]["arch"]["ts"] == UPSTREAM_MARKER
    run.run(context(cfg, [], NOW + 1800))
    state = json.loads((Path(cfg["site"]["state_dir"]) / "monitor" / "state.json").read_text())
    assert state["upstream"]["arch"]["ts"] == UPSTREAM_MARKER + 60


def test_an_unreachable_upstream_falls_back_to_the_marker_age(tmp_path):
    cfg = host(tmp_path, f"rsync://127.0.0.1:{servers.free_port()}/nothing/", marker=int(NOW) - 3 * 86400)
    record(cfg, status.SUCCESS, NOW - 60)
    report = run.run(context(cfg, [], NOW))
    fresh = next(c for c in report.checks if c.name == "freshness")
    assert fresh.state == "fail" and "upstream marker:" in fresh.message


def test_undelivered_messages_are_kept_and_sent_on_the_next_run(tmp_path, upstream, sink):
    cfg = host(tmp_path, upstream["url"] + "/tree/")
    record(cfg, status.FAILED, NOW - 60, error_msg="boom")
    dead = f"json://127.0.0.1:{servers.free_port()}/"
    run.run(context(cfg, [dead], NOW, threshold=1))
    state_file = Path(cfg["site"]["state_dir"]) / "monitor" / "state.json"
    assert [m["kind"] for m in json.loads(state_file.read_text())["outbox"]] == ["alert"]
    report = run.run(context(cfg, [sink["url"]], NOW + 300, threshold=1))
    assert report.undelivered == 0 and [m["title"][:7] for m in sink["received"]] == ["[ALERT]"]
    assert json.loads(state_file.read_text())["outbox"] == []


def test_a_marker_that_cannot_be_parsed_is_unknown_not_a_crash(tmp_path, upstream):
    cfg = host(tmp_path, upstream["url"] + "/tree/")
    (Path(cfg["site"]["mirror_root"]) / "arch" / "lastsync").write_text("<html>404</html>")
    record(cfg, status.SUCCESS, NOW - 60)
    fresh = next(c for c in run.run(context(cfg, [], NOW)).checks if c.name == "freshness")
    assert fresh.state == "unknown" and "unreadable" in fresh.message


def test_watch_alerts_once_when_the_mirror_stops_answering(tmp_path, sink):
    settings = parse({"summary_time": ""})
    dead = f"http://127.0.0.1:{servers.free_port()}/"
    for n in range(3):
        checks, messages, _ = watch.watch([sink["http"] + "/", dead], tmp_path, settings,
                                          Notifier([sink["url"]]), now=NOW + n * 120)
        assert [c.state for c in checks] == ["ok", "fail"]
    assert [m["title"] for m in sink["received"]] == [f"[ALERT] watchdog {watch.socket.getfqdn()}: {dead}"]
    assert "does not answer" in sink["received"][0]["message"]


def test_mirrorctl_check_on_a_host(tmp_path, upstream, sink, capsys):
    cfg = host(tmp_path, upstream["url"] + "/tree/")
    record(cfg, status.FAILED, time.time() - 60, error_msg="boom", exit_code=5)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(cfg))
    settings = tmp_path / "monitor.json"
    settings.write_text(json.dumps({"threshold": 1, "summary_time": "", "http_url": sink["http"] + "/",
                                    "units": ["speculum-*"]}))
    urls = tmp_path / "urls"
    urls.write_text(f"# the test sink\n{sink['url']}\n")
    args = ["check", "--config", str(config_path), "--settings", str(settings), "--notify-urls", str(urls)]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert re.search(r"^arch +sync +fail +last run failed \(exit 5\): boom$", out, re.M)
    assert "sent: [ALERT]" in out and len(sink["received"]) == 1
    assert main(args + ["--json", "--no-notify"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert {"subject": "host/http", "check": "http", "state": "ok"}.items() <= next(
        c for c in doc["checks"] if c["subject"] == "host/http").items()
    assert doc["messages"] == []


def test_mirrorctl_check_names_a_bad_setting(tmp_path, capsys):
    cfg = host(tmp_path, "rsync://127.0.0.1/x/")
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "monitor.json").write_text(json.dumps({"threshold": 0}))
    assert main(["check", "--config", str(tmp_path / "config.json"),
                 "--settings", str(tmp_path / "monitor.json")]) == 1
    assert "monitor setting 'threshold'" in capsys.readouterr().err


def test_mirrorctl_notify_test(tmp_path, sink, capsys):
    urls = tmp_path / "urls"
    urls.write_text(sink["url"] + "\n")
    empty = tmp_path / "monitor.json"
    empty.write_text("{}")
    assert main(["notify-test", "--notify-urls", str(urls), "--settings", str(empty)]) == 0
    assert sink["received"][0]["title"].startswith("[TEST]")
    urls.write_text("")
    assert main(["notify-test", "--notify-urls", str(urls), "--settings", str(empty)]) == 1
    assert "no notification URLs" in capsys.readouterr().err
