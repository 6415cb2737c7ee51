"""Announcing a post on the mailing list, through a real SMTP server (aiosmtpd
on 127.0.0.1): mail.send and `mirrorctl news send`."""

from __future__ import annotations

import copy
import email
import email.policy
import json
from pathlib import Path

import pytest
import servers
import site_inputs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from speculum import cli
from speculum.site import mail, settings

SLUG = "2026-11-20-welcome"
# the AUTH tests use plain SMTP on 127.0.0.1, which aiosmtpd rightly warns about
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Sink:
    """Keeps every message it is given, with the session's facts."""

    def __init__(self):
        self.received: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append({
            "from": envelope.mail_from, "to": envelope.rcpt_tos, "tls": session.ssl is not None,
            "login": session.auth_data if session.authenticated else None,
            "message": email.message_from_bytes(envelope.content, policy=email.policy.default)})
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"announcer", b"s3cret")
    # handled=False: aiosmtpd answers the failure (535) itself
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=servers.free_port())
    controller.start()
    try:
        yield controller.port, sink.received
    finally:
        controller.stop()


@pytest.fixture
def smtp_auth():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=servers.free_port(),
                            authenticator=check_login, auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield controller.port, sink.received
    finally:
        controller.stop()


def make_site(port: int, **mailing_list) -> dict:
    raw = copy.deepcopy(site_inputs.SITE)
    raw["mailing_list"].update(smtp_host="127.0.0.1", smtp_port=port, **mailing_list)
    return settings.validate(raw)


@pytest.fixture
def post(tmp_path):
    news_dir = tmp_path / "news"
    news_dir.mkdir()
    return site_inputs.posts(news_dir)[0]


def test_send_delivers_one_message(smtp, post, tmp_path):
    port, received = smtp
    state = tmp_path / "state" / "news-sent.json"
    message_id = mail.send(post, make_site(port), state=state)
    assert len(received) == 1
    got = received[0]
    assert got["to"] == ["mirror-announce@lists.example.edu"]
    assert got["from"] == "mirror-admin@example.edu"
    assert not got["tls"]  # STARTTLS is off unless configured
    msg = got["message"]
    assert msg["From"] == "Speculum Test Mirror <mirror-admin@example.edu>"
    assert msg["To"] == "mirror-announce@lists.example.edu"
    assert msg["Subject"] == "[Speculum Test Mirror] Welcome to the new mirror"
    assert msg["Message-ID"] == message_id and message_id.endswith("@mirror.example.edu>")
    assert msg["Date"] is not None
    assert not [h for h in msg.keys() if h.lower().startswith("list-")]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Welcome to the new mirror\n=========================\n\n")
    assert "The mirror now runs **Speculum**." in text
    assert "[status page](https://mirror.example.edu/status/)" in text
    assert text.rstrip().endswith("https://mirror.example.edu/news/2026-11-20-welcome/")
    page = msg.get_body(("html",)).get_content()
    assert "<strong>Speculum</strong>" in page
    assert '<a href="https://mirror.example.edu/status/">' in page
    record = json.loads(state.read_text())
    assert record[SLUG]["to"] == "mirror-announce@lists.example.edu"
    assert record[SLUG]["message_id"] == message_id


def test_from_address_and_other_recipient(smtp, post):
    port, received = smtp
    mail.send(post, make_site(port, from_address="news@example.edu"), to="me@example.org")
    assert received[0]["from"] == "news@example.edu"
    assert received[0]["to"] == ["me@example.org"]
    assert received[0]["message"]["To"] == "me@example.org"


def test_a_sent_post_is_not_sent_again_unless_forced(smtp, post, tmp_path):
    port, received = smtp
    state = tmp_path / "sent.json"
    mail.send(post, make_site(port), state=state)
    with pytest.raises(mail.AlreadySent, match=f"{SLUG} was sent to mirror-announce@lists.example.edu on "):
        mail.send(post, make_site(port), state=state)
    assert len(received) == 1
    mail.send(post, make_site(port), state=state, force=True)
    assert len(received) == 2


def test_no_list_address(post):
    site = make_site(25, address="")
    with pytest.raises(ValueError, match="no mailing list address configured: set mailing_list.address"):
        mail.send(post, site)


def test_unreachable_server_names_host_and_port(post, tmp_path):
    port = servers.free_port()  # nothing listens there
    state = tmp_path / "sent.json"
    with pytest.raises(mail.MailError, match=f"SMTP server 127.0.0.1:{port}: connecting: .*refused"):
        mail.send(post, make_site(port), state=state, timeout=5)
    assert not state.exists()


def test_starttls_asked_of_a_server_without_it(smtp, post):
    port, received = smtp
    with pytest.raises(mail.MailError, match=f"127.0.0.1:{port}: STARTTLS: .*not supported"):
        mail.send(post, make_site(port, smtp_starttls=True))
    assert received == []


def test_login_with_the_password_file(smtp_auth, post, tmp_path):
    port, received = smtp_auth
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n")
    mail.send(post, make_site(port, smtp_user="announcer", smtp_password_file=str(secret)))
    assert len(received) == 1 and received[0]["login"] == b"announcer"
    secret.write_text("wrong\n")
    with pytest.raises(mail.MailError, match=f"127.0.0.1:{port}: login as announcer: refused with 535"):
        mail.send(post, make_site(port, smtp_user="announcer", smtp_password_file=str(secret)), timeout=5)
    with pytest.raises(mail.MailError, match=f"password file {tmp_path}/missing"):
        mail.send(post, make_site(port, smtp_user="announcer", smtp_password_file=str(tmp_path / "missing")))
    assert len(received) == 1


def test_a_server_that_wants_a_login_refuses_the_message(smtp_auth, post):
    port, received = smtp_auth
    with pytest.raises(mail.MailError, match=f"127.0.0.1:{port}: sending: refused with 530"):
        mail.send(post, make_site(port))
    assert received == []


# --- mirrorctl news -------------------------------------------------------------


@pytest.fixture
def host(tmp_path, post):
    """What mirrorctl needs: a site settings file, the news dir, a sent record path."""
    def run(port: int, *argv: str) -> int:
        site = {**site_inputs.SITE, "news_dir": str(tmp_path / "news"),
                "mailing_list": {**site_inputs.SITE["mailing_list"], "smtp_host": "127.0.0.1", "smtp_port": port}}
        (tmp_path / "site.json").write_text(json.dumps(site))
        return cli.main(["news", *argv, "--site", str(tmp_path / "site.json"),
                         "--state", str(tmp_path / "sent.json")])
    return run


def test_cli_send_then_refuse_then_force(smtp, host, capsys):
    port, received = smtp
    assert host(port, "send", "welcome") == 0
    assert capsys.readouterr().out.startswith(f"sent {SLUG} to mirror-announce@lists.example.edu (<")
    assert len(received) == 1
    assert received[0]["message"]["Subject"] == "[Speculum Test Mirror] Welcome to the new mirror"

    assert host(port, "send", SLUG) == 4
    assert "not sent: 2026-11-20-welcome was sent to" in capsys.readouterr().err
    assert len(received) == 1

    assert host(port, "send", SLUG, "--force", "--to", "me@example.org") == 0
    assert len(received) == 2 and received[1]["to"] == ["me@example.org"]

    assert host(port, "list") == 0
    out = capsys.readouterr().out
    assert "2026-11-20 09:30  2026-11-20-welcome" in out and "Welcome to the new mirror" in out


def test_cli_dry_run_sends_nothing(smtp, host, capsys, tmp_path):
    port, received = smtp
    assert host(port, "send", SLUG, "--dry-run") == 0
    captured = capsys.readouterr()
    assert "Subject: [Speculum Test Mirror] Welcome to the new mirror" in captured.out
    assert "To: mirror-announce@lists.example.edu" in captured.out
    assert f"dry run: not sent (would go via 127.0.0.1:{port})" in captured.err
    assert received == [] and not (tmp_path / "sent.json").exists()


def test_cli_errors(host, capsys):
    port = servers.free_port()
    assert host(port, "send", SLUG) == 1
    assert f"mirrorctl: not sent: SMTP server 127.0.0.1:{port}: connecting:" in capsys.readouterr().err
    assert host(port, "send", "nope") == 2
    assert "unknown news post 'nope' (posts: 2026-11-20-welcome)" in capsys.readouterr().err
    assert host(port, "send") == 2
    assert "news send needs the post's SLUG" in capsys.readouterr().err
    assert host(port, "list", SLUG) == 2


def test_cli_list_json_in_the_repository(capsys, monkeypatch, tmp_path):
    """Without a site.json, the posts are the repository's news/."""
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.delenv("SPECULUM_SITE", raising=False)
    monkeypatch.setattr(settings, "DEFAULT_PATH", str(tmp_path / "absent.json"))
    assert cli.main(["news", "list", "--json", "--state", str(tmp_path / "sent.json")]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "2026-11-21-welcome" in [p["slug"] for p in listed]
    assert cli.main(["news", "send", "2026-11-21-welcome", "--dry-run"]) == 0
    assert "] Welcome to the new mirror site\n" in capsys.readouterr().out  # [<site name>] <title>
