"""News commands: `news list`, `news send SLUG` (announce a post on the mailing list).

On the mirror host the site settings are /etc/speculum/site.json and the posts
its news_dir. In the repository, without a site.json, the posts are news/ and
the site settings come from the speculum_site_* variables in group_vars/all/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# mail and news (smtplib, Markdown) load only for this command: every
# mirrorctl start, each timer-run sync too, builds this parser
from ..site import settings
from . import common


def register(add) -> None:
    p = add("news", "list the news posts, or send one to the announcement list",
            "mirrorctl news list\n"
            "mirrorctl news send 2026-11-21-welcome --dry-run\n"
            "mirrorctl news send welcome\n"
            "mirrorctl news send welcome --to me@example.org --force")
    p.add_argument("action", choices=["list", "send"])
    p.add_argument("post", metavar="SLUG", nargs="?",
                   help="send: the post's file name without .md (the date may be left off)")
    p.add_argument("--site", metavar="FILE",
                   help=f"site settings (default: $SPECULUM_SITE or {settings.DEFAULT_PATH})")
    p.add_argument("--news-dir", metavar="DIR", help="the posts (default: the site's news_dir)")
    p.add_argument("--state", metavar="FILE", default=settings.SENT_RECORD,
                   help="the record of sent posts (default: %(default)s)")
    p.add_argument("--to", metavar="ADDR", help="send: to ADDR instead of the list")
    p.add_argument("--force", action="store_true", help="send: even if the post was sent before")
    p.add_argument("--dry-run", action="store_true", help="send: print the message, send nothing")
    p.add_argument("--json", action="store_true", help="list: as JSON")
    p.set_defaults(func=cmd_news)


def cmd_news(args) -> int:
    if args.action == "list":
        if args.post or args.to or args.force or args.dry_run:
            raise common.CliError("news list takes no SLUG, --to, --force or --dry-run", common.USAGE)
        return _list(args)
    if not args.post:
        raise common.CliError("news send needs the post's SLUG (see mirrorctl news list)", common.USAGE)
    return _send(args)


def _list(args) -> int:
    from ..site import mail, news

    posts = news.load_posts(_news_dir(args))
    sent = mail.sent_record(args.state) if os.access(args.state, os.R_OK) else {}
    if args.json:
        common.print_json([{"slug": p.slug, "title": p.title, "author": p.author, "date": p.date.isoformat(),
                            "path": p.path, "summary": p.summary, "sent": sent.get(p.slug)} for p in posts])
    elif posts:
        rows = [(p.date.strftime("%Y-%m-%d %H:%M"), p.slug, (sent.get(p.slug) or {}).get("sent", ""), p.title)
                for p in posts]
        print(common.table([("date (UTC)", "post", "mailed", "title"), *rows]))
    else:
        print(f"no posts in {_news_dir(args)}", file=sys.stderr)
    return common.OK


def _send(args) -> int:
    from ..site import mail, news

    site = _site(args)
    post = news.find(news.load_posts(_news_dir(args)), args.post)
    if args.dry_run:
        msg = mail.build_message(post, site, to=args.to)
        ml = site["mailing_list"]
        print(msg.as_string())
        note = f"dry run: not sent (would go via {ml['smtp_host']}:{ml['smtp_port']})"
        done = mail.sent_record(args.state).get(post.slug) if os.access(args.state, os.R_OK) else None
        if done and not args.force:
            note += f"; it was sent on {done.get('sent')}, so a real run needs --force"
        print(note, file=sys.stderr)
        return common.OK
    try:
        message_id = mail.send(post, site, to=args.to, state=args.state, force=args.force)
    except mail.AlreadySent as exc:
        raise common.CliError(f"not sent: {exc} (--force)", common.REFUSED) from None
    except mail.MailError as exc:
        raise common.CliError(f"not sent: {exc}") from None
    print(f"sent {post.slug} to {args.to or site['mailing_list']['address']} ({message_id})")
    return common.OK


def _host_site(args) -> str | None:
    """The site settings file, if there is one (else we are in the repository)."""
    explicit = args.site or os.environ.get("SPECULUM_SITE")
    if explicit or Path(settings.DEFAULT_PATH).is_file():
        return explicit or settings.DEFAULT_PATH
    return None


def _repo_db(args) -> Path:
    db = Path(args.db) if args.db else common.find_db()
    if db is None:
        raise common.CliError(f"no site settings ({settings.DEFAULT_PATH}) and no repository here: "
                              "pass --site FILE, or run mirrorctl in the repository")
    return db


def _news_dir(args) -> Path:
    if args.news_dir:
        return Path(args.news_dir)
    path = _host_site(args)
    if path:
        return Path(settings.load(path)["news_dir"])
    return _repo_db(args).resolve().parents[2] / "news"


def _site(args) -> dict:
    path = _host_site(args)
    if path:
        return settings.load(path)
    db = _repo_db(args)
    prefix = "speculum_site_"
    found = common.site_vars(db)
    raw = {name: found[prefix + name] for name in settings.FIELDS if prefix + name in found}
    try:
        return settings.validate(raw)
    except ValueError as exc:
        raise ValueError(f"the {prefix}* variables beside {db}: {exc}") from None
