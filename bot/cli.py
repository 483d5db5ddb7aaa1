"""The `licensebot` command line.

Each command imports what it uses when it runs: a quote should not pay for Bolt, aiohttp
or Alembic, nor `--help` for the database and the settings.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot.domain.linking import DEFAULT_TTL_HOURS, MAX_TTL_HOURS, MIN_TTL_HOURS

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain.plans import BillingInterval
    from bot.domain.policy import Decision
    from bot.readmodels import AccountOverview
    from bot.services.context import ServiceContext

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
# Who the audit log says did what the command line did.
CLI_ACTOR = "cli"


class UsageError(Exception):
    """Bad arguments: printed as one line, exit code 2."""


class UnknownAccount(UsageError):
    """An ACCOUNT argument that names no account; the message suggests close ids."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage block: scripts read it, people get pointed at --help.
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")


def _period_word(interval: BillingInterval) -> str:
    from bot.domain.plans import BillingInterval

    return "month" if interval is BillingInterval.MONTHLY else "year"


def _day(moment: datetime) -> str:
    from bot.domain.periods import as_utc

    return as_utc(moment).strftime("%Y-%m-%d")


def _moment(moment: datetime) -> str:
    """A day ("2026-11-01") when the moment is midnight UTC, else the full ISO 8601 time."""
    from bot.domain.pricing import iso

    text = iso(moment)
    return text[:10] if text.endswith("T00:00:00Z") else text


def _licenses(count: int) -> str:
    from bot.domain.policy import count_words

    return count_words(count)


def _print_json(data: dict[str, Any] | list[dict[str, Any]]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _aligned(rows: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    """`label: value` lines, every value starting in one column; a value's further lines
    (after a newline) start in that column too."""
    width = max(len(label) for label, _ in rows) + 2
    lines = []
    for label, value in rows:
        first, *more = value.split("\n")
        lines.append(f"{indent}{label + ':':<{width}}{first}")
        lines += [f"{indent}{'':<{width}}{line}" for line in more]
    return lines


def _or_list(items: Sequence[str]) -> str:
    """'a', 'a' or 'b', 'a', 'b' or 'c'."""
    quoted = [repr(item) for item in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _no_such_account(wanted: str, ids: Iterable[str]) -> str:
    """One line naming the unknown id, with the existing ids closest to it (any case)."""
    import difflib

    by_folded: dict[str, list[str]] = {}
    for account_id in ids:
        by_folded.setdefault(account_id.lower(), []).append(account_id)
    if not by_folded:
        return (
            f"no account {wanted!r}: there are no accounts yet "
            "(add them with `licensebot accounts import FILE`)"
        )
    close = difflib.get_close_matches(wanted.lower(), list(by_folded), n=3)
    matches = [account_id for folded in close for account_id in by_folded[folded]][:3]
    if matches:
        return f"no account {wanted!r}; did you mean {_or_list(matches)}?"
    return f"no account {wanted!r} (`licensebot accounts list` shows every account)"


async def _with_context(
    settings: Settings, work: Callable[[ServiceContext], Awaitable[int]]
) -> int:
    from bot.data import billing_problem, open_services

    problem = billing_problem(settings)
    if problem is not None:
        raise UsageError(problem)
    from bot.domain.errors import AccountNotFound

    # Every command that reads the database brings it up to date first.
    async with open_services(settings) as services:
        try:
            return await work(services)
        except AccountNotFound as exc:
            # The one place every command's unknown ACCOUNT ends up.
            from bot.services.accounts import account_rows

            ids = [row[0] for row in await account_rows(services)]
            raise UnknownAccount(_no_such_account(exc.account_id, ids)) from None


def _run(settings: Settings, work: Callable[[ServiceContext], Awaitable[int]]) -> int:
    """Run a data command's `work` on the services of an up-to-date database."""
    import asyncio

    return asyncio.run(_with_context(settings, work))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db import upgrade

    upgrade(settings.database_url)
    print("database is up to date")
    return EXIT_OK


def cmd_accounts_import(args: argparse.Namespace, settings: Settings) -> int:
    import yaml

    from bot.domain.errors import ImportFileError
    from bot.services import accounts as accounts_service

    # libyaml's parser where PyYAML has it: several times faster, the same data (only some
    # syntax errors are worded differently).
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    path = Path(args.file)
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=loader)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
            f"{exc.start}); save it as UTF-8 (nothing was imported)"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        # YAML reads 2026-13-45 as a date and fails to build it.
        raise UsageError(f"{path}: {exc} (nothing was imported)") from None

    async def work(ctx: ServiceContext) -> int:
        try:
            result = await accounts_service.import_accounts(ctx, data, actor=f"import:{path.name}")
        except ImportFileError as exc:
            raise UsageError(f"{path}: {exc} (nothing was imported)") from None
        print(
            f"imported {path}: {len(result.created):,} created, {len(result.updated):,} "
            f"updated, {len(result.unchanged):,} unchanged"
        )
        return EXIT_OK

    return _run(settings, work)


def _adding_licenses(capacity: Decision) -> str:
    """How adding licenses goes for the account, as a sentence (two lines when refused)."""
    from bot.domain.policy import Route

    if capacity.allowed:
        return (
            f"self-serve: an admin can add up to {_licenses(capacity.max_addable)} now, "
            "in Slack with /licenses add"
        )
    names = {
        Route.CSM: "their Customer Success Manager",
        Route.SALES: "Sales",
        Route.SUPPORT: "Support",
    }
    who = names.get(capacity.route, "the vendor") if capacity.route else "the vendor"
    return f"not self-serve: admins go through {who}\nthey are told: “{capacity.reason}”"


def _render_overview(view: AccountOverview) -> str:
    from blocks.text import billed
    from bot.domain.money import format_money

    terms = view.terms
    money = terms.currency
    per = _period_word(terms.interval)
    csm = " ".join(
        part
        for part in (
            view.csm_name,
            f"<{view.csm_email}>" if view.csm_email else None,
            f"({view.csm_slack_user_id})" if view.csm_slack_user_id else None,
        )
        if part
    )
    rows = [
        ("Plan", f"{view.plan_name}, {billed(terms.interval)}"),
        ("Licenses", f"{terms.licenses:,}"),
        ("Price per license", f"{format_money(terms.unit_price_minor, money)} per {per}"),
        ("Current period", f"{_day(view.period.start)} → {_day(view.period.end)}"),
        ("Next cycle", f"{format_money(view.next_cycle_minor, money)} per {per}"),
        ("Slack workspace", view.slack_team_id or "not linked"),
        ("Admins", ", ".join(view.admins) or "none"),
        ("CSM", csm or "none"),
        ("Adding licenses", _adding_licenses(view.capacity)),
    ]
    return "\n".join([f"{view.name} ({view.account_id})", *_aligned(rows)])


def cmd_accounts_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.plans import PlanId, plan_for
    from bot.services.accounts import account_rows

    async def work(ctx: ServiceContext) -> int:
        rows = await account_rows(ctx)
        if args.json:
            _print_json(
                [
                    {
                        "id": account_id,
                        "name": name,
                        "plan": plan,
                        "licenses": licenses,
                        "workspace": team_id,
                    }
                    for account_id, name, plan, licenses, team_id in rows
                ]
            )
            return EXIT_OK
        if not rows:
            print("no accounts yet: add them with `licensebot accounts import FILE`")
            return EXIT_OK
        plan_names = {plan.value: plan_for(plan).display_name for plan in PlanId}
        table = [("ID", "NAME", "PLAN", "LICENSES", "WORKSPACE")]
        table += [
            (
                account_id,
                name,
                plan_names.get(plan, plan),
                f"{licenses:,}",
                team_id or "not linked",
            )
            for account_id, name, plan, licenses, team_id in rows
        ]
        widths = [max(len(row[column]) for row in table) for column in range(4)]
        lines = [
            f"{account_id:<{widths[0]}}  {name:<{widths[1]}}  {plan:<{widths[2]}}  "
            f"{licenses:>{widths[3]}}  {team}"
            for account_id, name, plan, licenses, team in table
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK

    return _run(settings, work)


def cmd_accounts_show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import accounts as accounts_service

    async def work(ctx: ServiceContext) -> int:
        view = await accounts_service.show_account(ctx, args.account)
        if args.json:
            _print_json(view.to_json())
        else:
            print(_render_overview(view))
        return EXIT_OK

    return _run(settings, work)


def cmd_accounts_link_code(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.errors import LinkInputError
    from bot.domain.linking import utc_minute
    from bot.domain.pricing import iso
    from bot.services import linking as linking_service

    async def work(ctx: ServiceContext) -> int:
        try:
            issued = await linking_service.issue_link_code(
                ctx, args.account, CLI_ACTOR, args.ttl_hours
            )
        except LinkInputError as exc:
            raise UsageError(f"--ttl-hours: {exc}") from None
        if args.json:
            _print_json(
                {
                    "account": issued.account_id,
                    "code": issued.code,
                    "expires_at": iso(issued.expires_at),
                }
            )
            return EXIT_OK
        print(f"Link code for {issued.account_name} ({issued.account_id}): {issued.code}")
        print(f"  works once, until {utc_minute(issued.expires_at)}")
        print(
            f"  an admin of {issued.account_name} types `/licenses link {issued.code}` "
            "in their Slack workspace"
        )
        return EXIT_OK

    return _run(settings, work)


def cmd_accounts_unlink(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import linking as linking_service

    async def work(ctx: ServiceContext) -> int:
        team_id = await linking_service.unlink_account(ctx, args.account, CLI_ACTOR)
        if team_id is None:
            print(f"{args.account} was not linked to a Slack workspace; nothing changed")
        else:
            print(f"{args.account} is no longer linked to Slack workspace {team_id}")
        return EXIT_OK

    return _run(settings, work)


SYNCED_FIELDS = {
    "licenses": "licenses",
    "price_per_license_minor": "price per license",
    "currency": "currency",
    "billing_interval": "billing interval",
    "period_anchor": "billing period",
}


def cmd_accounts_sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.integrations.billing import BillingRefused, BillingUnavailable
    from bot.services.billing import sync_from_provider

    if settings.billing_provider != "stripe":
        raise UsageError("accounts sync reads Stripe: set BILLING_PROVIDER=stripe")

    async def work(ctx: ServiceContext) -> int:
        try:
            result = await sync_from_provider(ctx, args.account, CLI_ACTOR)
        except (BillingRefused, BillingUnavailable) as exc:
            raise UsageError(f"{args.account}: {exc} (nothing changed)") from None
        if not result.changed:
            print(f"{args.account} already matches Stripe subscription {result.subscription}")
        else:
            changed = ", ".join(SYNCED_FIELDS.get(field, field) for field in result.changed)
            print(
                f"{args.account} now has Stripe subscription {result.subscription}'s "
                f"{changed} (each change is in the audit log)"
            )
        return EXIT_OK

    return _run(settings, work)


def cmd_orders(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.money import format_money
    from bot.services.orders import order_history

    async def work(ctx: ServiceContext) -> int:
        orders = await order_history(ctx, args.account)
        if args.json:
            print(json.dumps([order.to_json() for order in orders], indent=2))
            return EXIT_OK
        if not orders:
            print(f"{args.account} has no orders yet")
        for order in orders:
            charged = format_money(order.charged_minor, order.currency)
            print(
                f"{order.reference}  {order.status:<7}  {_day(order.placed_at)}  "
                f"+{order.added:,} ({order.licenses_before:,} → {order.licenses_after:,})  "
                f"{charged}  {order.charge_reference or '-'}"
            )
        return EXIT_OK

    return _run(settings, work)


def cmd_tokens_new_key(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return EXIT_OK


def cmd_tokens_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from cryptography.fernet import InvalidToken

    from bot.integrations.installations import BadTokenKey, rotate_tokens, token_cipher

    secret = settings.token_encryption_key
    try:
        cipher = token_cipher(secret.get_secret_value() if secret else None)
    except BadTokenKey as exc:
        raise UsageError(str(exc)) from None

    async def work(ctx: ServiceContext) -> int:
        try:
            rotated = await rotate_tokens(ctx.sessions.kw["bind"], cipher)
        except InvalidToken:
            raise UsageError(
                "a stored token can't be decrypted with any key in TOKEN_ENCRYPTION_KEY; "
                "keep the old key in the list (TOKEN_ENCRYPTION_KEY=<new>,<old>)"
            ) from None
        print(f"{rotated:,} stored Slack token(s) now encrypted under the first key")
        return EXIT_OK

    return _run(settings, work)


def _parse_at(raw: str | None) -> datetime | None:
    from bot.domain.periods import as_utc

    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise UsageError(f"--at: {raw!r} is not an ISO 8601 time") from None
    # The billing period around the moment must fit in the calendar (years 1-9999).
    if not 2 <= moment.year <= 9998:
        raise UsageError(f"--at: {raw!r} is out of range (years 2 to 9998)")
    return as_utc(moment)


def cmd_quote(args: argparse.Namespace, settings: Settings) -> int:
    from bot.domain.money import format_money
    from bot.domain.periods import as_utc
    from bot.domain.policy import InvalidCount, parse_count
    from bot.domain.pricing import iso
    from bot.services import quotes as quotes_service

    try:
        add = parse_count(args.add)
    except InvalidCount as exc:
        raise UsageError(f"--add: {exc}") from None
    at = _parse_at(args.at)

    async def work(ctx: ServiceContext) -> int:
        outcome = await quotes_service.quote(ctx, args.account, add, at)
        anchor = as_utc(outcome.terms.anchor)
        if at is not None and at < anchor:
            # Before the anchor there is no period of this account to prorate over.
            raise UsageError(
                f"--at {iso(at)}: {args.account}'s billing starts on {_moment(anchor)} "
                "(its billing anchor); quote a moment from then on"
            )
        decision = outcome.decision
        if decision.is_input_error:
            if args.json:
                _print_json({"account": args.account, "added": add, **decision.to_json()})
            raise UsageError(f"--add: {decision.reason}")
        if outcome.quote is None:
            if args.json:
                _print_json({"account": args.account, "added": add, **decision.to_json()})
            else:
                print(f"Not self-serve (route: {decision.route}): {decision.reason}")
            return EXIT_REFUSED
        quote = outcome.quote
        expires_at = quote.quoted_at + timedelta(seconds=settings.quote_ttl_seconds)
        # Whole days, from the quote's own moment and period (bot.domain.pricing).
        days_left, days_in_period = quote.days_left
        if args.json:
            _print_json(
                {
                    **quote.to_json(),
                    "expires_at": iso(expires_at),
                    "days_left": days_left,
                    "days_in_period": days_in_period,
                }
            )
            return EXIT_OK
        money, per = quote.currency, _period_word(outcome.terms.interval)
        unit = format_money(quote.unit_price_minor, money)
        valid_until = as_utc(expires_at).strftime("%H:%M UTC")
        if as_utc(expires_at).date() != as_utc(ctx.clock()).date():
            valid_until += f" on {_day(expires_at)}"
        rows = [
            (
                "Total licenses",
                f"{quote.total_licenses:,} (now {quote.current_licenses:,})",
            ),
            (
                "Total due today",
                f"{format_money(quote.due_today_minor, money)} (prorated: {days_left:,} of "
                f"{days_in_period:,} days left in this period; price valid until {valid_until})",
            ),
            (
                "Price details",
                f"{format_money(quote.next_cycle_minor, money)} per {per} from "
                f"{_day(quote.period.end)} ({quote.total_licenses:,} × {unit})",
            ),
        ]
        print("\n".join([f"{args.account}: add {_licenses(quote.added)}", *_aligned(rows)]))
        return EXIT_OK

    return _run(settings, work)


def _check_slack_credentials(settings: Settings, command: str) -> None:
    """A bot token, or OAuth mode with everything it needs; else one line saying what."""
    from bot.bootstrap import oauth_problem
    from bot.data import billing_problem

    billing = billing_problem(settings)
    if billing is not None:
        raise UsageError(billing)
    if settings.oauth_mode:
        problem = oauth_problem(settings)
        if problem is not None:
            raise UsageError(problem)
    elif settings.slack_bot_token is None:
        raise UsageError(
            f"{command} needs SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (Add to Slack, any number of workspaces)"
        )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.server import serve

    # Add to Slack needs HTTP (its pages are served at GET /slack/install and the redirect).
    socket = args.socket or (
        settings.slack_app_token is not None and not args.http and not settings.oauth_mode
    )
    if settings.oauth_mode and socket:
        raise UsageError("OAuth mode serves Add to Slack over HTTP: drop --socket")
    _check_slack_credentials(settings, "serve")
    if socket and settings.slack_app_token is None:
        raise UsageError("--socket needs SLACK_APP_TOKEN (an xapp- token with connections:write)")
    if not socket and settings.slack_signing_secret is None:
        raise UsageError("HTTP mode needs SLACK_SIGNING_SECRET to verify Slack's requests")
    port = args.port or settings.port
    asyncio.run(
        serve(settings, socket=socket, host=args.host, port=port, scheduler=not args.no_scheduler)
    )
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.sandbox.runner import run_sandbox

    data_dir = Path(args.data).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(run_sandbox(args.port, data_dir, args.open))
    return EXIT_OK


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.server import run_scheduler

    _check_slack_credentials(settings, "the scheduler")
    asyncio.run(run_scheduler(settings))
    return EXIT_OK


ACCOUNT_HELP = "account id, as in the accounts file (`licensebot accounts list` shows them)"

# Commands that serve until stopped: they keep the cyclic garbage collector running.
RUN_UNTIL_STOPPED = (cmd_serve, cmd_sandbox, cmd_scheduler)


def build_parser() -> Parser:
    parser = Parser(
        prog="licensebot",
        description="Manage seat licenses from Slack. Settings come from the environment "
        "or a .env file (DATABASE_URL, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, …).",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    serve = commands.add_parser(
        "serve",
        help="run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)",
        description="Run the bot. Migrates the database first. HTTP mode serves "
        "POST /slack/events and GET /healthz.",
    )
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument(
        "--http", action="store_true", help="HTTP mode even if SLACK_APP_TOKEN is set"
    )
    mode.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--port", type=int, help="HTTP port (default: PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP address to bind (default: 0.0.0.0)")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="don't run the scheduled jobs in this process"
    )
    serve.set_defaults(handler=cmd_serve)

    sandbox = commands.add_parser(
        "sandbox",
        help="run the bot against a local Slack workspace in your browser (no Slack needed)",
        description="Start a local Slack workspace on http://127.0.0.1:PORT with demo "
        "accounts and users, and the real bot talking to it. Its data lives in its own "
        "SQLite file; real Slack credentials in the environment are not used.",
    )
    sandbox.add_argument("--port", type=int, default=3030, help="web page port (default 3030)")
    sandbox.add_argument("--open", action="store_true", help="open the page in a browser")
    sandbox.add_argument(
        "--data", default="sandbox-data", help="folder for its database (default ./sandbox-data)"
    )
    sandbox.set_defaults(handler=cmd_sandbox)

    scheduler = commands.add_parser(
        "scheduler",
        help="run the scheduled jobs alone (removals, reminders, retries)",
        description="Run only the scheduled jobs: apply approved removals on their date, "
        "remind CSMs of pending requests, retry Slack and ticket work that failed. Use it "
        "with `serve --no-scheduler` when several web instances run.",
    )
    scheduler.set_defaults(handler=cmd_scheduler)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)

    tokens = commands.add_parser("tokens", help="the key that encrypts stored Slack tokens")
    token_commands = tokens.add_subparsers(
        dest="tokens_command", required=True, parser_class=Parser
    )
    new_key = token_commands.add_parser(
        "new-key", help="print a new TOKEN_ENCRYPTION_KEY (a Fernet key)"
    )
    new_key.set_defaults(handler=cmd_tokens_new_key)
    rotate = token_commands.add_parser(
        "rotate",
        help="re-encrypt every stored Slack token under the first key of TOKEN_ENCRYPTION_KEY",
        description="Rotate the token key: set TOKEN_ENCRYPTION_KEY=<new>,<old>, run this, "
        "then drop <old>. Tokens are decrypted with any listed key and encrypted with the first.",
    )
    rotate.set_defaults(handler=cmd_tokens_rotate)

    accounts = commands.add_parser("accounts", help="import, list and show customer accounts")
    account_commands = accounts.add_subparsers(
        dest="accounts_command", required=True, parser_class=Parser
    )
    importer = account_commands.add_parser(
        "import",
        help="create or update accounts from a YAML file (all or nothing)",
        description="Create or update accounts from a YAML file with an 'accounts:' list. "
        "Importing the same file twice changes nothing; a file with an error imports nothing.",
    )
    importer.add_argument("file", help="path of the accounts YAML file")
    importer.set_defaults(handler=cmd_accounts_import)
    lister = account_commands.add_parser(
        "list",
        help="every account: id, name, plan, licenses, Slack workspace",
        description="List every account, sorted by id: a table with its id, name, plan, "
        "licenses and linked Slack workspace. With --json, a list of objects with id, name, "
        "plan (the plan id: freemium, essential, pro, enterprise or gong), licenses and "
        "workspace (the Slack team id, or null).",
    )
    lister.add_argument("--json", action="store_true", help="print one JSON list")
    lister.set_defaults(handler=cmd_accounts_list)
    show = account_commands.add_parser(
        "show",
        help="print an account's plan, licenses, price, period and how it adds licenses",
        description="Print one account: plan, licenses, price, current billing period, "
        "Slack workspace, admins, CSM, and whether its admins can add licenses themselves. "
        "An unknown id exits 2 and suggests the closest ids.",
    )
    show.add_argument("account", help=ACCOUNT_HELP)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=cmd_accounts_show)
    link_code = account_commands.add_parser(
        "link-code",
        help="make a one-time code that links a customer's Slack workspace to the account",
        description="Make a one-time code for the account. An admin of the account types "
        "`/licenses link CODE` in their Slack workspace, which links it. The code is shown "
        "only now (only its hash is stored) and works once, until it expires. Exit codes: "
        "0 made, 2 bad arguments (unknown account, already linked, --ttl-hours out of range).",
    )
    link_code.add_argument("account", help=ACCOUNT_HELP)
    link_code.add_argument(
        "--ttl-hours",
        type=int,
        default=DEFAULT_TTL_HOURS,
        metavar="H",
        help=f"hours the code works ({MIN_TTL_HOURS} to {MAX_TTL_HOURS}, "
        f"default {DEFAULT_TTL_HOURS})",
    )
    link_code.add_argument(
        "--json", action="store_true", help="print one JSON object: account, code, expires_at"
    )
    link_code.set_defaults(handler=cmd_accounts_link_code)
    unlink = account_commands.add_parser(
        "unlink",
        help="forget the account's Slack workspace",
        description="Forget the Slack workspace linked to the account; its codes not yet "
        "used stop working. Linking again takes a new code. An account that is not linked "
        "is left as it is (exit 0).",
    )
    unlink.add_argument("account", help=ACCOUNT_HELP)
    unlink.set_defaults(handler=cmd_accounts_unlink)
    sync = account_commands.add_parser(
        "sync",
        help="take the account's values from its Stripe subscription",
        description="Read the account's Stripe subscription (BILLING_PROVIDER=stripe) and "
        "write its quantity (the licenses), unit amount, currency, interval and current "
        "period to the account, with an audit entry for each change. Exit codes: 0 done, "
        "2 unknown account, no subscription, or Stripe refused or could not be reached.",
    )
    sync.add_argument("account", help=ACCOUNT_HELP)
    sync.set_defaults(handler=cmd_accounts_sync)

    orders = commands.add_parser(
        "orders", help="an account's orders, newest first: reference, status, amount"
    )
    orders.add_argument("account", help=ACCOUNT_HELP)
    orders.add_argument("--json", action="store_true", help="print one JSON list")
    orders.set_defaults(handler=cmd_orders)

    quote = commands.add_parser(
        "quote",
        help="print the quote an admin would see for adding licenses",
        description="Print what adding N licenses costs today (prorated to the end of the "
        "billing period) and from the next cycle, and until when that price holds "
        "(QUOTE_TTL_SECONDS). Exit codes: 0 quote, 2 bad arguments (an unknown account, a "
        "count that is not a whole number of at least 1, an --at before the account's "
        "billing starts), 3 refused by the plan rules (the JSON says where to go instead).",
    )
    quote.add_argument("account", help=ACCOUNT_HELP)
    quote.add_argument("--add", required=True, metavar="N", help="licenses to add")
    quote.add_argument(
        "--at",
        metavar="ISO8601",
        help="quote as of this time, e.g. 2026-11-16T09:00:00Z (default: now)",
    )
    quote.add_argument("--json", action="store_true", help="print one JSON object")
    quote.set_defaults(handler=cmd_quote)
    return parser


@contextmanager
def _collector_for_one_run() -> Iterator[None]:
    """The cyclic garbage collector, set for a command that runs once and exits.

    Such a command makes mostly objects that live until it exits: the classes and functions
    of the modules it imports, or an accounts file's entries. Collecting would only scan
    them again and again: a sixth of a quote's time, half of a 100,000-account import. So
    the collector pauses while the command runs, and what survives it goes straight to the
    oldest generation (re-enabled, the collector would scan it all at once on the way out).
    At exit it is frozen: the interpreter's shutdown would collect over it several times,
    some 90 ms after a quote. The little cyclic garbage such a command leaves goes with it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # unless someone else froze objects, to be kept so
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.handler in RUN_UNTIL_STOPPED:
        return _run_command(args)
    with _collector_for_one_run():
        return _run_command(args)


def _command_name(args: argparse.Namespace) -> str:
    """ "licensebot quote", "licensebot accounts show": how errors name the command."""
    words = ["licensebot", args.command]
    sub = getattr(args, f"{args.command}_command", None)
    if sub:
        words.append(sub)
    return " ".join(words)


def _run_command(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.config import Settings
    from bot.domain.errors import ServiceError

    # Errors name the command, as argparse's do: "licensebot quote: no account 'ACME'; …".
    command = _command_name(args)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"{command}: setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    try:
        return handler(args, settings)
    except (UsageError, ServiceError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`licensebot accounts list | head`): nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        # Only a command that loaded SQLAlchemy can fail in it; --help never imports it.
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"{command}: database error: {reason}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
