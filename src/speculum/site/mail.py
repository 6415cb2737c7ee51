"""Announcing a news post on the mailing list, over SMTP.

The message is plain text (the post's Markdown source reads well as is) with
an HTML alternative. It carries no List-* headers: the list server adds them.
A record of sent posts (JSON, {slug: {sent, to, message_id}}) keeps a post
from going out twice unless forced.
"""

from __future__ import annotations

import html
import os
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from ..fsutil import read_json, write_json
from .news import Post, absolute_links, base_url
from .settings import SENT_RECORD

DEFAULT_STATE = SENT_RECORD


class MailError(Exception):
    """The post was not sent: the SMTP server could not be reached, or refused it."""


class AlreadySent(MailError):
    """The sent record has the post already."""


def recipient(site: dict, to: str | None = None) -> str:
    address = to or site["mailing_list"]["address"]
    if not address:
        raise ValueError("no mailing list address configured: set mailing_list.address in the site "
                         "settings (or pass another recipient)")
    return address


def build_message(post: Post, site: dict, *, to: str | None = None, now: datetime | None = None) -> EmailMessage:
    base = base_url(site)
    url = base + post.path.lstrip("/")
    msg = EmailMessage()
    msg["From"] = formataddr((site["name"], site["mailing_list"]["from_address"] or site["contact"]))
    msg["To"] = recipient(site, to)
    msg["Subject"] = f"[{site['name']}] {post.title}"
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = make_msgid(f"news.{post.slug}", domain=site["hostname"])
    underline = "=" * min(len(post.title), 72)
    text = _absolute_markdown_links(post.source.strip(), base)
    msg.set_content(f"{post.title}\n{underline}\n\n{text}\n\n-- \nOn the web: {url}\n")
    msg.add_alternative(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(post.title)}</title></head><body>\n"
        f"<h1>{html.escape(post.title)}</h1>\n{absolute_links(post.html, base)}\n"
        f"<p><a href=\"{html.escape(url)}\">{html.escape(url)}</a></p>\n</body></html>\n",
        subtype="html")
    return msg


def _absolute_markdown_links(source: str, base: str) -> str:
    """[text](/status/) and [ref]: /status/ made absolute: a mail reader has no site to be relative to."""
    source = re.sub(r"\]\(/(?!/)", lambda m: "](" + base, source)
    return re.sub(r"^( {0,3}\[[^\]]+\]:[ \t]*)/(?!/)", lambda m: m[1] + base, source, flags=re.M)


def sent_record(state: str | os.PathLike) -> dict:
    try:
        record = read_json(state)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the sent record {state}: {exc}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{state}: not a sent record (a JSON object of slugs)")
    return record


def send(post: Post, site: dict, *, to: str | None = None, password: str | None = None, timeout: float = 30,
         state: str | os.PathLike | None = None, force: bool = False,
         context: ssl.SSLContext | None = None) -> str:
    """Send ``post`` to the list (or ``to``); return the Message-ID.

    ``state`` is the sent record, checked before and written after sending;
    ``password`` defaults to the contents of mailing_list.smtp_password_file.
    """
    ml = site["mailing_list"]
    msg = build_message(post, site, to=to)
    record = {}
    if state is not None:
        record = sent_record(state)
        if post.slug in record and not force:
            done = record[post.slug]
            raise AlreadySent(f"{post.slug} was sent to {done.get('to')} on {done.get('sent')}; "
                              "force sending it again if you mean to")
        _check_writable(Path(state))
    if ml["smtp_user"] and password is None:
        password = _read_password(ml["smtp_password_file"])
    _deliver(msg, ml, password, timeout, context, site["hostname"])
    if state is not None:
        record[post.slug] = {"sent": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "to": msg["To"], "message_id": msg["Message-ID"]}
        try:
            write_json(state, record)
        except OSError as exc:
            raise MailError(f"{post.slug} WAS sent, but recording it in {state} failed: {exc}") from None
    return msg["Message-ID"]


def _check_writable(state: Path) -> None:
    """Fail before sending if the record could not be written after."""
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MailError(f"cannot keep the sent record {state}: {exc.strerror}") from None
    if not os.access(state.parent, os.W_OK):
        raise MailError(f"cannot keep the sent record {state}: {state.parent} is not writable")


def _read_password(path: str) -> str:
    if not path:
        raise ValueError("mailing_list.smtp_user is set but mailing_list.smtp_password_file is not")
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise MailError(f"cannot read the SMTP password file {path}: {exc.strerror}") from None


def _deliver(msg: EmailMessage, ml: dict, password: str | None, timeout: float,
             context: ssl.SSLContext | None, hostname: str) -> None:
    server = f"{ml['smtp_host']}:{ml['smtp_port']}"
    step = "connecting"
    try:
        with smtplib.SMTP(ml["smtp_host"], ml["smtp_port"], local_hostname=hostname, timeout=timeout) as smtp:
            if ml["smtp_starttls"]:
                step = "STARTTLS"
                smtp.starttls(context=context or ssl.create_default_context())
            if ml["smtp_user"]:
                step = f"login as {ml['smtp_user']}"
                smtp.login(ml["smtp_user"], password or "")
            step = "sending"
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = "; ".join(f"{addr}: {code} {text.decode(errors='replace')}"
                            for addr, (code, text) in exc.recipients.items())
        raise MailError(f"SMTP server {server} refused the recipient: {reasons}") from None
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login refused
        raise MailError(f"SMTP server {server}: {step}: refused with {exc.smtp_code} "
                        f"{exc.smtp_error.decode(errors='replace')}") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP server {server}: {step}: {exc}") from None
    except OSError as exc:  # refused, unreachable, timed out, TLS failed
        raise MailError(f"SMTP server {server}: {step}: {exc.strerror or exc}") from None
