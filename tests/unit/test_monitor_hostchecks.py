"""Host checks against real servers on 127.0.0.1, a generated certificate and the real disk."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
import servers
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from speculum.monitor import hostchecks
from speculum.monitor.checks import FAIL, OK, UNKNOWN, WARN

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
NAME = "mirror.example.org"


class Handler(http.server.BaseHTTPRequestHandler):
    """HEAD /CODE answers HTTP CODE (/ answers 200)."""

    def do_HEAD(self):
        code = int(self.path.strip("/") or 200)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(context: ssl.SSLContext | None = None, handler=Handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def web():
    with serve() as port:
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(("path", "state"), [("/", OK), ("/404", OK), ("/503", FAIL), ("/500", FAIL)])
def test_http(web, path, state):
    check = hostchecks.http(web + path, timeout=5)
    assert (check.subject, check.name, check.state) == ("host/http", "http", state)
    assert check.message == f"{web}{path} answers HTTP {path.strip('/') or 200}"


def test_http_closed_port():
    url = f"http://127.0.0.1:{servers.free_port()}/"
    check = hostchecks.http(url, timeout=5)
    assert check.state == FAIL
    assert check.message.startswith(f"{url} does not answer: ")
    assert "refused" in check.message.lower()


def certificate(tmp_path, not_after: datetime) -> ssl.SSLContext:
    """A server context with a self-signed certificate for NAME that expires at ``not_after``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_after - timedelta(days=90)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = tmp_path / f"cert-{not_after.timestamp():.0f}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    return context


def https(tmp_path, days: float, min_days: float = 14):
    context = certificate(tmp_path, NOW + timedelta(days=days))
    with serve(context) as port:
        return hostchecks.https(NAME, port, NOW.timestamp(), min_days, timeout=5), port


def test_https_valid_certificate(tmp_path):
    (answer, cert), port = https(tmp_path, 60)
    assert (answer.subject, answer.state) == ("host/https", OK)
    assert answer.message == f"https://{NAME}:{port}/ answers HTTP 200"
    assert (cert.subject, cert.name, cert.state) == ("host/certificate", "certificate", OK)
    assert cert.value == pytest.approx(60, abs=0.01)
    assert cert.message == f"certificate of {NAME} valid for 60 more days"


def test_https_certificate_about_to_expire(tmp_path):
    (answer, cert), _ = https(tmp_path, 5, min_days=14)
    assert answer.state == OK
    assert cert.state == FAIL
    assert cert.value == pytest.approx(5, abs=0.01)
    assert f"certificate of {NAME} expires in 5.0 days (2025-03-15 12:00 UTC)" in cert.message


def test_https_expired_certificate(tmp_path):
    (answer, cert), _ = https(tmp_path, -1)
    assert answer.state == OK  # the handshake does not judge dates; the certificate check does
    assert cert.state == FAIL
    assert cert.value == pytest.approx(-1, abs=0.01)
    assert cert.message == f"certificate of {NAME} expired on 2025-03-09 12:00 UTC"


def test_https_server_error(tmp_path):
    class Failing(Handler):
        def do_HEAD(self):
            self.path = "/503"
            super().do_HEAD()

    context = certificate(tmp_path, NOW + timedelta(days=60))
    with serve(context, Failing) as port:
        answer, cert = hostchecks.https(NAME, port, NOW.timestamp(), 14, timeout=5)
    assert answer.state == FAIL and "503" in answer.message
    assert cert.state == OK


def test_https_closed_port():
    port = servers.free_port()
    answer, cert = hostchecks.https(NAME, port, NOW.timestamp(), 14, timeout=5)
    assert answer.state == FAIL
    assert answer.message.startswith(f"https://{NAME}:{port}/ does not answer: ")
    assert (cert.subject, cert.state) == ("host/certificate", UNKNOWN)


@pytest.mark.parametrize("der", [None, b"", b"not a certificate"])
def test_certificate_unreadable(der):
    check = hostchecks.certificate(der, NAME, NOW.timestamp(), 14)
    assert (check.subject, check.state, check.value) == ("host/certificate", UNKNOWN, None)
    assert check.message.startswith(f"certificate of {NAME} unreadable: ")


@pytest.mark.parametrize(("warn", "fail", "state"), [(100, 100, FAIL), (100, 99.9, FAIL), (100, 0, WARN),
                                                     (0, 0, OK)])
def test_disk(tmp_path, warn, fail, state):
    found = hostchecks.disk(str(tmp_path), warn, fail)
    expected = ["disk", "inodes"] if os.statvfs(tmp_path).f_files else ["disk"]
    assert [c.name for c in found] == expected
    assert [c.subject for c in found] == [f"host/{n}" for n in expected]
    for check in found:
        assert 0 <= check.value < 100
        assert check.state == state
        assert f"% free on {tmp_path} (" in check.message
    assert re.search(r" \(\d+(\.\d)?[BKMGT]\)$", found[0].message)  # status.human_size
    if len(found) > 1:
        assert found[1].message.endswith(" inodes)")


def test_disk_unreadable(tmp_path):
    found = hostchecks.disk(str(tmp_path / "missing"), 10, 5)
    assert [(c.name, c.state) for c in found] == [("disk", UNKNOWN), ("inodes", UNKNOWN)]


LISTING = """\
speculum-stats.service              loaded failed failed Speculum usage statistics
● certbot.service loaded failed failed Certbot
speculum-sync-debian.service        loaded failed failed Speculum sync of debian
nginx.service                       loaded failed failed A high performance web server
"""
PATTERNS = ("speculum-*", "certbot.service")


def test_failed_units():
    check = hostchecks.failed_units(PATTERNS, listing=LISTING)
    assert (check.subject, check.state, check.value) == ("host/units", FAIL, 2)
    assert check.message == "failed: certbot.service, speculum-stats.service"


@pytest.mark.parametrize("listing", ["", "\n", "speculum-sync-arch.service loaded failed failed Speculum sync\n",
                                     "● nginx.service loaded failed failed nginx\n"])
def test_no_failed_units_of_ours(listing):
    check = hostchecks.failed_units(PATTERNS, listing=listing)
    assert (check.state, check.value, check.message) == (OK, 0, "no failed units")
