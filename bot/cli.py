"""The `frontdoor` command: serve, chat, worker, db, content, telegram, i18n, keys and users."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    from bot.production import refuse_unsafe_start
    from bot.settings import get_settings
    from bot.web.app import serve

    refuse_unsafe_start(get_settings(), "web app")
    serve(host=args.host, port=args.port)
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal.chat import run_chat

    return run_chat(style=args.style)


def _worker(args: argparse.Namespace) -> int:
    from bot.production import refuse_unsafe_start
    from bot.settings import get_settings
    from bot.worker import run_worker

    refuse_unsafe_start(get_settings(), "worker")
    return run_worker(once=args.once)


def _db_upgrade(_args: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    upgrade(get_settings().sqlalchemy_url)
    print("database is up to date")
    return 0


def _content_check(_args: argparse.Namespace) -> int:
    from bot.content.check import run_check

    return run_check(get_settings())


def _safety_train(_args: argparse.Namespace) -> int:
    from bot.safety.commands import run_train

    return run_train(get_settings())


def _safety_eval(args: argparse.Namespace) -> int:
    from bot.safety.commands import run_eval

    return run_eval(get_settings(), show=args.show, split=args.split)


def _i18n(args: argparse.Namespace) -> int:
    from bot.content import i18n

    return i18n.run(args.action, get_settings(), args.locale, args.file)


def _telegram_set_webhook(_args: argparse.Namespace) -> int:
    import asyncio

    from bot.channels.telegram.setup import set_webhook
    from bot.content.model import load_content

    settings = get_settings()
    content = load_content(settings.content_dir, settings.locales_dir)
    return asyncio.run(set_webhook(settings, content))


def _telegram_poll(_args: argparse.Namespace) -> int:
    from bot.channels.telegram.setup import run_poll
    from bot.engine import Engine

    return run_poll(Engine(settings=get_settings()))


def _keys_rotate(_args: argparse.Namespace) -> int:
    from bot.storage.db import Database
    from bot.storage.keys import open_vault
    from bot.storage.rotation import rotate

    settings = get_settings()
    db = Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
    vault = open_vault(settings, db)
    done = rotate(db, vault)
    for name in sorted({*done.resealed, *done.current, *done.unreadable, *done.changed}):
        print(
            f"{name}: {done.resealed[name]} re-sealed, {done.current[name]} already current, "
            f"{done.unreadable[name]} unreadable, {done.changed[name]} changed meanwhile"
        )
    if not done.complete:
        print("some rows changed while being re-sealed: run `frontdoor keys rotate` again")
        return 1
    retired = ", ".join(done.retired) or "none"
    print(f"every value is under key id {vault.current}; retired key ids: {retired}")
    return 0


def _keys_status(_args: argparse.Namespace) -> int:
    from bot.storage.db import Database
    from bot.storage.keys import open_vault
    from bot.storage.rotation import census

    settings = get_settings()
    db = Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
    vault = open_vault(settings, db)
    print(f"current key id {vault.current}; configured: {', '.join(vault.key_ids)}")
    for name, counts in census(db).items():
        held = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "empty"
        print(f"{name}: {held}")
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from bot.dashboard import admin

    return admin.add(get_settings(), args.name, args.role)


def _users_disable(args: argparse.Namespace) -> int:
    from bot.dashboard import admin

    return admin.disable(get_settings(), args.name)


def _users_admin(args: argparse.Namespace) -> int:
    """enable, unlock, reset-password, reset-2fa and list (bot/dashboard/admin.py)."""
    from bot.dashboard import admin

    settings = get_settings()
    action = args.users_command
    if action == "list":
        return admin.list_users(settings)
    if action == "enable":
        return admin.enable(settings, args.name)
    if action == "unlock":
        return admin.unlock(settings, args.name)
    if action == "reset-password":
        return admin.reset_password(settings, args.name)
    return admin.reset_second_factor(settings, args.name)


def _figures(args: argparse.Namespace) -> int:
    """The Figures page's tables, suppressed the same way (bot/dashboard/figures_report.py)."""
    from bot.dashboard.figures_cli import run

    return run(get_settings(), args.period, args.area, args.format)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web app (webhooks, simulator, dashboard, health)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--style", choices=("sms", "telegram"), default="sms")
    chat.set_defaults(func=_chat)

    worker = sub.add_parser("worker", help="run background jobs (outbox, timers, retention)")
    worker.add_argument("--once", action="store_true", help="run each job once, then stop")
    worker.set_defaults(func=_worker)

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    content = sub.add_parser("content", help="content tasks")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    content_sub.add_parser("check", help="prove the content sound").set_defaults(
        func=_content_check
    )

    safety = sub.add_parser("safety", help="the safety screen's classifier and measures")
    safety_sub = safety.add_subparsers(dest="action", required=True)
    safety_sub.add_parser(
        "train", help="rebuild bot/safety/model.npz from every split but the held-out one"
    ).set_defaults(func=_safety_train)
    evaluate = safety_sub.add_parser("eval", help="recall and false alarms on the held-out split")
    evaluate.add_argument("--show", action="store_true", help="list each miss and false alarm")
    evaluate.add_argument(
        "--split",
        default="heldout",
        help=(
            "a folder of tests/data/safety: dev, the messages written to probe phrases "
            "while changing them (read freely); probe, probe2...: rounds of messages "
            "written fresh, before reading the phrases, to see whether they generalise"
        ),
    )
    evaluate.set_defaults(func=_safety_eval)

    telegram = sub.add_parser("telegram", help="connect the Telegram bot")
    telegram_sub = telegram.add_subparsers(dest="telegram_command", required=True)
    telegram_sub.add_parser(
        "set-webhook", help="register the webhook, its secret and the command menu"
    ).set_defaults(func=_telegram_set_webhook)
    telegram_sub.add_parser(
        "poll", help="fetch updates here instead (local use, no public address)"
    ).set_defaults(func=_telegram_poll)

    i18n = sub.add_parser("i18n", help="translation catalogs")
    i18n.add_argument(
        "action", choices=("extract", "update", "compile", "status", "init", "missing", "fill")
    )
    i18n.add_argument("--locale", default=None, help="one locale (init needs it)")
    i18n.add_argument("--file", default=None, help="fill: YAML of `context: {locale: text}`")
    i18n.set_defaults(func=_i18n)

    keys = sub.add_parser("keys", help="encryption keys (docs/keys.md)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser(
        "rotate", help="re-seal everything under FRONTDOOR_SECRET (old: FRONTDOOR_OLD_SECRETS)"
    ).set_defaults(func=_keys_rotate)
    keys_sub.add_parser("status", help="how many values each key id holds").set_defaults(
        func=_keys_status
    )

    report = sub.add_parser("figures", help="anonymous figures for a period, as CSV or JSON")
    report.add_argument("--period", required=True, help="2026, 2026-Q3 or 2026-07")
    report.add_argument("--area", default="all", choices=("all", "southend", "thurrock", "essex"))
    report.add_argument("--format", default="csv", choices=("csv", "json"))
    report.set_defaults(func=_figures)

    users = sub.add_parser(
        "users", aliases=["staff"], help="dashboard accounts (handlers, supervisors, commissioners)"
    )
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser(
        "add", help="add a handler or supervisor and enrol its second factor (password: asked)"
    )
    add.add_argument("name")
    add.add_argument("--role", choices=("handler", "supervisor", "commissioner"), required=True)
    add.set_defaults(func=_users_add)
    disable = users_sub.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("name")
    disable.set_defaults(func=_users_disable)
    for action, helped in (
        ("enable", "enable a disabled account"),
        ("unlock", "lift every sign-in throttle on an account"),
        ("reset-password", "set a new password (asked, or stdin) and end its sessions"),
        ("reset-2fa", "replace the second factor (prints the new key, QR and recovery codes)"),
    ):
        named = users_sub.add_parser(action, help=helped)
        named.add_argument("name")
        named.set_defaults(func=_users_admin)
    users_sub.add_parser(
        "list", help="every account: role, enabled, second factor, throttled"
    ).set_defaults(func=_users_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # State changes are not news; keep the logs for what needs attention.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    from bot.storage.keys import SecretMismatch

    try:
        return int(args.func(args) or 0)
    except SecretMismatch as refused:
        print(f"frontdoor: {refused}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
