"""HTTPS on the converged host: a certificate issued by the scenario's pebble
for the configured name, renewal through certbot (dry run and a real forced
renewal that the deploy hook puts in service), a TLS configuration with no
TLS 1.0/1.1 nor weak ciphers, HTTP/2, HSTS, and plain HTTP still serving
files without a redirect."""

import re

import pytest
from test_site import get

NAME = "speculum-molecule-mirror"
ACME = "https://lab-acme:14000/dir"
CA_BUNDLE = "/etc/speculum/acme-ca.pem"
LIVE = f"/etc/letsencrypt/live/{NAME}"


def handshake(host, *options: str) -> str:
    """openssl s_client's output for a TLS connection to the host's nginx (never raises)."""
    cmd = "echo | timeout 20 openssl s_client -connect localhost:443 -servername %s " + " ".join(options)
    result = host.run(cmd + " 2>&1", NAME)
    return result.stdout


def served_certificate(host) -> str:
    return host.check_output(
        "echo | openssl s_client -connect localhost:443 -servername %s 2>/dev/null"
        " | openssl x509 -noout -issuer -subject -serial -ext subjectAltName", NAME)


def test_https_presents_a_pebble_certificate_for_the_name(host):
    info = served_certificate(host)
    assert re.search(r"issuer=.*Pebble Intermediate CA", info), info
    assert f"DNS:{NAME}" in info


def test_the_certificate_is_certbots_lineage_with_the_acme_server(host):
    renewal = host.file(f"/etc/letsencrypt/renewal/{NAME}.conf")
    assert renewal.exists and f"server = {ACME}" in renewal.content_string
    assert "authenticator = webroot" in renewal.content_string
    assert host.file(f"{LIVE}/fullchain.pem").exists


def test_renewal_timer_and_its_ca_are_in_place(host):
    timer = host.service("certbot.timer")
    assert timer.is_enabled and timer.is_running
    env = host.check_output("systemctl show -p Environment certbot.service")
    assert f"REQUESTS_CA_BUNDLE={CA_BUNDLE}" in env
    hook = host.file("/etc/letsencrypt/renewal-hooks/deploy/50-speculum-nginx")
    assert hook.mode == 0o755 and "nginx -t" in hook.content_string


def test_renew_dry_run_succeeds_against_pebble(host):
    out = host.check_output(
        "REQUESTS_CA_BUNDLE=%s certbot renew --dry-run --no-random-sleep-on-renew --server %s 2>&1",
        CA_BUNDLE, ACME)
    assert "all simulated renewals succeeded" in out


def test_a_renewal_goes_into_service_through_the_deploy_hook(host):
    before = re.search(r"serial=(\w+)", served_certificate(host)).group(1)
    host.check_output("REQUESTS_CA_BUNDLE=%s certbot renew --force-renewal --no-random-sleep-on-renew 2>&1",
                      CA_BUNDLE)
    after = re.search(r"serial=(\w+)", served_certificate(host)).group(1)
    assert after != before  # the hook tested and reloaded nginx


@pytest.mark.parametrize("protocol", ["-tls1", "-tls1_1"])
def test_old_protocols_are_refused(host, protocol):
    out = handshake(host, protocol, "-cipher", "'ALL:@SECLEVEL=0'")
    assert "Cipher is (NONE)" in out or "alert protocol version" in out, out


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_current_protocols_are_accepted(host, protocol):
    out = handshake(host, protocol)
    version = protocol[-1]
    assert re.search(rf"New, TLSv1\.{version}, Cipher is (?!\(NONE\))", out), out


@pytest.mark.parametrize("ciphers", [
    "'RC4:3DES:DES:NULL:EXPORT:aNULL:MD5:@SECLEVEL=0'",  # broken
    "'AES128-SHA:AES256-SHA:AES128-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384'",  # no forward secrecy
    "'ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384'",  # CBC
])
def test_weak_ciphers_are_refused(host, ciphers):
    out = handshake(host, "-tls1_2", "-cipher", ciphers)
    assert "Cipher is (NONE)" in out or "handshake failure" in out, out


def test_http2_is_offered(host):
    # only the ALPN line: after it the server's binary HTTP/2 frames follow
    out = host.check_output("echo | timeout 20 openssl s_client -connect localhost:443 -servername %s "
                            "-alpn h2,http/1.1 2>&1 | grep -a '^ALPN protocol'", NAME)
    assert out == "ALPN protocol: h2"


def test_hsts_is_sent_on_https_pages(host):
    headers = host.check_output(
        "python3 -c %s",
        "import ssl, urllib.request; c = ssl._create_unverified_context(); "
        "print(urllib.request.urlopen('https://localhost/', context=c).headers)")
    assert "Strict-Transport-Security: max-age=600" in headers


def test_plain_http_still_serves_files_without_redirect(host):
    code, headers, body = get(host, "/debian/project/trace/master")
    assert code == 200 and "location:" not in headers and body
    code, headers, _body = get(host, "/")
    assert code == 200 and "location:" not in headers
