"""Real servers on 127.0.0.1 for tests: an rsync daemon, a frozen upstream,
a static HTTP server. Context managers; the test fixtures wrap them."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def write_tree(tree: Path, files: dict, symlinks: dict | None = None, empty_dirs=()) -> Path:
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    for rel, target in (symlinks or {}).items():
        (tree / rel).symlink_to(target)
    for rel in empty_dirs:
        (tree / rel).mkdir(parents=True)
    return tree


@contextlib.contextmanager
def rsync_daemon(root: Path, tree: Path, password: str):
    """Modules `tree` (open) and `auth` (user speculum, ``password``) serving ``tree``."""
    secrets = root / "rsyncd.secrets"
    secrets.write_text(f"speculum:{password}\n")
    secrets.chmod(0o600)
    conf = root / "rsyncd.conf"
    conf.write_text(f"""\
pid file = {root}/rsyncd.pid
use chroot = no
uid = {os.getuid()}
gid = {os.getgid()}
[tree]
  path = {tree}
  read only = yes
[auth]
  path = {tree}
  read only = yes
  auth users = speculum
  secrets file = {secrets}
  strict modes = yes
""")
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/rsync", "--daemon", "--no-detach", f"--port={port}",
                             f"--config={conf}", "--address=127.0.0.1"])
    try:
        wait_port(port)
        yield {"url": f"rsync://127.0.0.1:{port}", "tree": tree, "port": port}
    finally:
        proc.terminate()
        proc.wait(5)


@contextlib.contextmanager
def frozen_upstream():
    """A TCP server that accepts and then never says a word; yields its rsync URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    conns = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"rsync://127.0.0.1:{server.getsockname()[1]}/frozen/"
    finally:
        stop.set()
        thread.join()
        for conn in conns:
            conn.close()
        server.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(directory: Path, handler=QuietHandler):
    """Static files of ``directory``; yields the base URL (no trailing slash)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
