"""HTTPS settings are checked before the host changes; each error names its variable."""

from __future__ import annotations

import pytest

from speculum.tls import name_problem, settings_errors

GOOD = {"speculum_tls_names": ["mirror.example.edu", "ftp.example.edu"],
        "speculum_acme_server": "https://acme-v02.api.letsencrypt.org/directory",
        "speculum_acme_email": "mirror-admin@example.edu", "speculum_acme_ca_bundle": "",
        "speculum_tls_hsts_max_age": 0, "speculum_tls_self_signed_fallback": False,
        "speculum_tls_redirect_pages": False}


def test_good_settings_pass():
    assert settings_errors(GOOD) == []
    assert settings_errors({**GOOD, "speculum_tls_names": ["speculum-lab"]}) == []  # single label: a lab


@pytest.mark.parametrize(("name", "problem"), [
    ("127.0.0.1", "IP address"), ("2001:db8::1", "IP address"), ("*.example.edu", "wildcard"),
    ("mirror example.edu", "not a DNS name"), ("-bad.example.edu", "not a DNS name"),
    ("a..b", "not a DNS name"), ("", "must be a DNS name"), (None, "must be a DNS name"),
    ("x" * 64 + ".edu", "not a DNS name"),
])
def test_names_certbot_cannot_get(name, problem):
    assert problem in name_problem(name)


@pytest.mark.parametrize(("change", "message"), [
    ({"speculum_tls_names": []}, "speculum_tls_names: must be a non-empty list"),
    ({"speculum_tls_names": "mirror.example.edu"}, "speculum_tls_names: must be a non-empty list"),
    ({"speculum_tls_names": ["ok.example.edu", "127.0.0.1"]}, "speculum_tls_names[1]: '127.0.0.1' is an IP"),
    ({"speculum_tls_names": ["a.example.edu", "a.example.edu"]}, "speculum_tls_names: a name is listed twice"),
    ({"speculum_acme_server": "http://acme.example/dir"}, "speculum_acme_server: 'http://acme.example/dir'"),
    ({"speculum_acme_email": "nobody"}, "speculum_acme_email: 'nobody' must be an e-mail address"),
    ({"speculum_acme_ca_bundle": "/nonexistent/ca.pem"}, "speculum_acme_ca_bundle: /nonexistent/ca.pem is not a file"),
    ({"speculum_tls_hsts_max_age": -1}, "speculum_tls_hsts_max_age: -1"),
    ({"speculum_tls_hsts_max_age": True}, "speculum_tls_hsts_max_age: True"),
    ({"speculum_tls_redirect_pages": "maybe"}, "speculum_tls_redirect_pages: 'maybe' must be true or false"),
])
def test_each_error_names_the_variable(change, message):
    errors = settings_errors({**GOOD, **change})
    assert len(errors) == 1 and errors[0].startswith(message.split(":")[0]) and message in errors[0]


def test_extra_vars_text_is_read_as_ansible_reads_it():
    assert settings_errors({**GOOD, "speculum_tls_redirect_pages": "true", "speculum_tls_hsts_max_age": "600"}) == []


def test_a_ca_bundle_on_the_controller_is_accepted(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings_errors({**GOOD, "speculum_acme_ca_bundle": str(bundle)}) == []
