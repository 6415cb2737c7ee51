"""Delivery through apprise (Debian's package): one URL per line in a
root-only file that the unit hands to the check (Discord webhooks, mailto://,
matrix://, … — any apprise URL).

Discord URLs are sent as text (``format=text``): Discord pings a role or
user only from a message's content, never from an embed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .alerts import Message

TYPES = {"fail": "failure", "warn": "warning", "ok": "success", "info": "info"}


def read_urls(path: str | Path | None) -> list[str]:
    """The URLs of ``path``: one per line; blank lines and # comments skipped."""
    if not path:
        return []
    lines = Path(path).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def prepare(url: str) -> str:
    if url.startswith(("discord://", "https://discord.com/api/webhooks/")) and "format=" not in url:
        return url + ("&" if "?" in url else "?") + "format=text"
    return url


class Notifier:
    """Sends messages to every URL; ``send`` is True when all of them took it."""

    def __init__(self, urls: list[str]):
        self.urls = [prepare(u) for u in urls]

    def send(self, message: Message) -> bool:
        if not self.urls:
            return True  # nothing configured: the journal and the status page carry it
        import apprise  # Debian's apprise package; only needed when there are URLs

        logging.getLogger("apprise").setLevel(logging.ERROR)
        sender = apprise.Apprise()
        for url in self.urls:
            if not sender.add(url):
                raise ValueError(f"not an apprise URL (check the monitor's notify secrets): {_redact(url)}")
        return bool(sender.notify(title=message.title, body=message.body,
                                  notify_type=TYPES.get(message.severity, "info"),
                                  body_format=apprise.NotifyFormat.TEXT))


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest[:4]}…" if rest else url[:10] + "…"
