"""The `licensebot` command line, run for real as a separate process."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from bot.bootstrap import open_services
from bot.cli import build_parser
from bot.config import Settings
from bot.readmodels import AdminIdentity
from bot.services.orders import place_order
from tests.accounts import account

ACCOUNTS: list[dict[str, Any]] = [
    account(),
    {
        "id": "yearly",
        "name": "Yearly Inc",
        "plan": "essential",
        "billing_interval": "annual",
        "licenses": 4,
        "price_per_license": "1200.00",
        "period_start": "2026-01-01T00:00:00Z",
    },
    {
        "id": "globex",
        "name": "Globex",
        "plan": "enterprise",
        "billing_interval": "annual",
        "licenses": 3,
        "price_per_license": "1200.00",
        "period_start": "2026-01-01T00:00:00Z",
        "admins": ["U0GIL"],
    },
    {
        "id": "initech",
        "name": "Initech",
        "plan": "enterprise",
        "billing_interval": "annual",
        "licenses": 6,
        "price_per_license": "1100.00",
        "period_start": "2026-03-01T00:00:00Z",
        "csm": {"name": "Casey Doe", "email": "casey@vendor.example"},
    },
    {
        "id": "umbrella",
        "name": "Umbrella",
        "plan": "gong",
        "billing_interval": "annual",
        "licenses": 40,
        "period_start": "2026-06-15T00:00:00Z",
    },
    {
        "id": "month-end",
        "name": "Month End Ltd",
        "plan": "pro",
        "billing_interval": "monthly",
        "licenses": 2,
        "price_per_license": "31.00",
        "period_start": "2025-01-31T00:00:00Z",
    },
    {
        "id": "nippon",
        "name": "Nippon KK",
        "plan": "pro",
        "billing_interval": "monthly",
        "licenses": 10,
        "currency": "JPY",
        "price_per_license": "1000",
        "period_start": "2026-11-01T00:00:00Z",
    },
]


def write_accounts(path: Path, accounts: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"accounts": accounts}, sort_keys=False), encoding="utf-8")
    return path


def licensebot(
    workdir: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script with a clean environment in `workdir` (no .env there)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    }
    env["DATABASE_URL"] = f"sqlite:///{workdir / 'licensebot.db'}"
    env["SALES_EMAIL"] = "sales@vendor.example"
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("licensebot")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with every test account, imported once through the command line."""
    workdir = tmp_path_factory.mktemp("cli")
    file = write_accounts(workdir / "accounts.yml", ACCOUNTS)
    result = licensebot(workdir, "accounts", "import", str(file))
    assert result.returncode == 0, result.stderr
    return workdir


# Read-only runs against the seeded database. Each starts a Python process, so they
# run side by side once per module and the tests below read their results.
RUNS: dict[str, list[str]] = {
    "pro-monthly": ["quote", "acme", "--add", "3", "--at", "2026-11-16T00:00:00Z", "--json"],
    "pro-tokyo": ["quote", "acme", "--add", "3", "--at", "2026-11-16T09:00:00+09:00", "--json"],
    "pro-text": ["quote", "acme", "--add", "3", "--at", "2026-11-16T00:00:00Z"],
    "annual": ["quote", "yearly", "--add", "3", "--at", "2026-08-08T00:00:00Z", "--json"],
    "globex-2": ["quote", "globex", "--add", "2", "--at", "2026-08-08T00:00:00Z", "--json"],
    "globex-3": ["quote", "globex", "--add", "3", "--at", "2026-08-08T00:00:00Z", "--json"],
    "initech": ["quote", "initech", "--add", "1", "--at", "2026-08-08T00:00:00Z", "--json"],
    "umbrella": ["quote", "umbrella", "--add", "1", "--at", "2026-08-08T00:00:00Z", "--json"],
    "umbrella-text": ["quote", "umbrella", "--add", "1"],
    "month-end": ["quote", "month-end", "--add", "1", "--at", "2025-03-15T00:00:00Z", "--json"],
    "jpy": ["quote", "nippon", "--add", "1", "--at", "2026-11-11T00:00:00Z", "--json"],
    "show-json": ["accounts", "show", "acme", "--json"],
    "show-text": ["accounts", "show", "umbrella"],
}
BAD_RUNS: dict[str, tuple[list[str], str]] = {
    "add-abc": (["quote", "acme", "--add", "abc"], "whole number"),
    "add-zero": (["quote", "acme", "--add", "0"], "at least 1"),
    "add-negative": (["quote", "acme", "--add", "-2"], "at least 1"),
    "unknown-account": (["quote", "nope", "--add", "1"], "nope"),
    "bad-at": (["quote", "acme", "--add", "1", "--at", "yesterday"], "yesterday"),
    "far-at": (["quote", "acme", "--add", "1", "--at", "9999-12-15T00:00:00Z"], "out of range"),
    "link-code-unknown": (["accounts", "link-code", "nope"], "nope"),
    "link-code-linked": (["accounts", "link-code", "acme"], "unlink it first"),
    "link-code-ttl-zero": (["accounts", "link-code", "yearly", "--ttl-hours", "0"], "1 and 720"),
    "link-code-ttl-long": (["accounts", "link-code", "yearly", "--ttl-hours", "721"], "1 and 720"),
    "link-code-ttl-text": (["accounts", "link-code", "yearly", "--ttl-hours", "a day"], "a day"),
    "unlink-unknown": (["accounts", "unlink", "nope"], "nope"),
}


@pytest.fixture(scope="module")
def runs(seeded: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    commands = {**RUNS, **{name: args for name, (args, _) in BAD_RUNS.items()}}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(licensebot, seeded, *args) for name, args in commands.items()}
        return {name: future.result() for name, future in futures.items()}


def outcome(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> tuple[int, dict[str, Any]]:
    result = runs[name]
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


# --- the examples of the issue -----------------------------------------------------------


def test_pro_monthly_example(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "pro-monthly")
    assert code == 0
    expected = {
        "allowed": True,
        "account": "acme",
        "current_licenses": 10,
        "added": 3,
        "total_licenses": 13,
        "currency": "USD",
        "unit_price": "49.00",
        "due_today": "73.50",
        "next_cycle_amount": "637.00",
        "period_start": "2026-11-01T00:00:00Z",
        "period_end": "2026-12-01T00:00:00Z",
        "quoted_at": "2026-11-16T00:00:00Z",
    }
    # DESIGN.md lists these fields as the minimum; more may follow.
    assert {key: body.get(key) for key in expected} == expected


def test_annual_example(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "annual")
    assert code == 0
    assert body["due_today"] == "1440.00"
    assert body["next_cycle_amount"] == "8400.00"
    assert (body["period_start"], body["period_end"]) == (
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )


def test_enterprise_with_three_may_add_two(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    code, body = outcome(runs, "globex-2")
    assert code == 0
    assert body["total_licenses"] == 5
    assert body["due_today"] == "960.00"


def test_enterprise_with_three_adding_three_goes_to_sales(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    code, body = outcome(runs, "globex-3")
    assert code == 3
    assert body["allowed"] is False
    assert body["route"] == "sales"
    assert "sales@vendor.example" in body["reason"]


def test_enterprise_with_six_goes_to_the_csm(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    code, body = outcome(runs, "initech")
    assert code == 3
    assert (body["allowed"], body["route"]) == (False, "csm")
    assert "Casey Doe" in body["reason"]


def test_gong_edition_goes_to_the_csm(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "umbrella")
    assert code == 3
    assert (body["allowed"], body["route"]) == (False, "csm")
    assert "Gong Edition" in body["reason"]


def test_jan_31_anchor_period_in_march(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "month-end")
    assert code == 0
    assert body["period_start"] == "2025-02-28T00:00:00Z"
    assert body["period_end"] == "2025-03-31T00:00:00Z"
    assert body["due_today"] == "16.00"  # 31.00 × 16 of 31 days


def test_jpy_amounts_have_no_decimals(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "jpy")
    assert code == 0
    assert body["currency"] == "JPY"
    assert (body["unit_price"], body["due_today"], body["next_cycle_amount"]) == (
        "1000",
        "667",
        "11000",
    )


def test_at_accepts_other_time_zones(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    code, body = outcome(runs, "pro-tokyo")
    assert code == 0
    assert body["due_today"] == "73.50"
    assert body["quoted_at"] == "2026-11-16T00:00:00Z"


def test_quote_for_people(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["pro-text"]
    assert result.returncode == 0
    assert "$73.50" in result.stdout
    assert "$637.00" in result.stdout
    assert "13" in result.stdout


def test_refusal_for_people(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["umbrella-text"]
    assert result.returncode == 3
    assert "csm" in result.stdout
    assert "Traceback" not in result.stderr


# --- bad arguments: exit 2, one line, no traceback ------------------------------------


@pytest.mark.parametrize("name", list(BAD_RUNS))
def test_bad_arguments_exit_2_with_one_line(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str
) -> None:
    result = runs[name]
    assert_one_line_error(result)
    assert BAD_RUNS[name][1] in result.stderr


# --- accounts ------------------------------------------------------------------------


def test_accounts_show_json(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["show-json"]
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["account"] == "acme"
    assert body["name"] == "Acme Corp"
    assert body["plan"] == "pro"
    assert body["plan_name"] == "Pro"
    assert body["billing_interval"] == "monthly"
    assert body["licenses"] == 10
    assert body["currency"] == "USD"
    assert body["price_per_license"] == "49.00"
    assert body["next_cycle_amount"] == "490.00"
    assert body["admins"] == ["U0ANN", "erin@acme.example"]
    assert body["csm"]["name"] == "Casey Doe"
    assert body["slack_team_id"] == "T0ACME"
    # The current period: a month starting on the anchor's day.
    assert body["period_start"].endswith("-01T00:00:00Z")
    assert body["period_end"].endswith("-01T00:00:00Z")
    assert body["period_start"] < body["period_end"]


def test_accounts_show_for_people(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["show-text"]
    assert result.returncode == 0
    assert "Gong Edition" in result.stdout
    assert "$1,290.00" in result.stdout  # the catalog's annual price


def stored_licenses(workdir: Path) -> dict[str, int]:
    """The accounts in the command's database, read directly."""
    with closing(sqlite3.connect(workdir / "licensebot.db")) as connection:
        return dict(connection.execute("SELECT id, licenses FROM accounts").fetchall())


def test_accounts_import_twice_is_idempotent(tmp_path: Path) -> None:
    file = write_accounts(tmp_path / "accounts.yml", ACCOUNTS[:2])
    first = licensebot(tmp_path, "accounts", "import", str(file))
    assert first.returncode == 0, first.stderr
    assert "2 created, 0 updated, 0 unchanged" in first.stdout
    second = licensebot(tmp_path, "accounts", "import", str(file))
    assert second.returncode == 0, second.stderr
    assert "0 created, 0 updated, 2 unchanged" in second.stdout
    assert stored_licenses(tmp_path) == {"acme": 10, "yearly": 4}

    changed = [dict(ACCOUNTS[0], licenses=11), ACCOUNTS[1]]
    third = licensebot(tmp_path, "accounts", "import", str(write_accounts(file, changed)))
    assert "0 created, 1 updated, 1 unchanged" in third.stdout
    assert stored_licenses(tmp_path) == {"acme": 11, "yearly": 4}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"plan": "platinum"}, "plan"),
        ({"price_per_license": "49.001"}, "price_per_license"),
    ],
)
def test_a_bad_import_file_imports_nothing(
    tmp_path: Path, overrides: dict[str, Any], field: str
) -> None:
    licensebot(tmp_path, "db", "upgrade")
    file = write_accounts(tmp_path / "accounts.yml", [ACCOUNTS[0], {**ACCOUNTS[1], **overrides}])
    result = licensebot(tmp_path, "accounts", "import", str(file))
    assert_one_line_error(result)
    assert "'yearly'" in result.stderr
    assert f"'{field}'" in result.stderr
    assert "nothing was imported" in result.stderr
    assert stored_licenses(tmp_path) == {}


def test_an_import_file_that_is_not_yaml(tmp_path: Path) -> None:
    file = tmp_path / "accounts.yml"
    file.write_text("accounts: [\n  - id: acme\n    name: {unclosed\n", encoding="utf-8")
    assert_one_line_error(licensebot(tmp_path, "accounts", "import", str(file)))


def stored_link_codes(workdir: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(workdir / "licensebot.db")) as connection:
        return connection.execute("SELECT * FROM link_codes").fetchall()


def stored_workspaces(workdir: Path) -> dict[str, str | None]:
    with closing(sqlite3.connect(workdir / "licensebot.db")) as connection:
        return dict(connection.execute("SELECT id, slack_team_id FROM accounts").fetchall())


def test_accounts_link_code_json(tmp_path: Path) -> None:
    licensebot(
        tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", ACCOUNTS[:2]))
    )
    before = datetime.now(UTC)

    result = licensebot(tmp_path, "accounts", "link-code", "yearly", "--ttl-hours", "48", "--json")

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {"account", "code", "expires_at"}
    assert body["account"] == "yearly"
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", body["code"])
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=47) < expires - before <= timedelta(hours=48, minutes=1)
    # Only its hash is stored.
    [row] = stored_link_codes(tmp_path)
    bare = body["code"].replace("-", "")
    assert hashlib.sha256(bare.encode()).hexdigest() in row
    assert not any(bare in str(value) or body["code"] in str(value) for value in row)


def test_accounts_link_code_for_people(tmp_path: Path) -> None:
    licensebot(
        tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", ACCOUNTS[:2]))
    )
    result = licensebot(tmp_path, "accounts", "link-code", "yearly")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Link code for Yearly Inc (yearly): ")
    assert "/licenses link " in result.stdout
    assert "UTC" in result.stdout


def test_accounts_unlink(tmp_path: Path) -> None:
    licensebot(
        tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", ACCOUNTS[:2]))
    )
    assert stored_workspaces(tmp_path)["acme"] == "T0ACME"

    result = licensebot(tmp_path, "accounts", "unlink", "acme")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "acme is no longer linked to Slack workspace T0ACME"
    assert stored_workspaces(tmp_path) == {"acme": None, "yearly": None}
    # Now a code can be made for it.
    assert licensebot(tmp_path, "accounts", "link-code", "acme").returncode == 0

    again = licensebot(tmp_path, "accounts", "unlink", "acme")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "acme was not linked to a Slack workspace; nothing changed"


async def place_two_orders(workdir: Path) -> list[str]:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{workdir / 'licensebot.db'}")  # type: ignore[call-arg]
    async with open_services(settings, migrate=False) as ctx:
        ann = AdminIdentity("U0ANN")
        first = await place_order(ctx, "acme", ann, 3, "order-1", None)
        second = await place_order(ctx, "acme", ann, 1, "order-2", None)
    return [first.reference, second.reference]


def test_orders_lists_an_accounts_orders_newest_first(tmp_path: Path) -> None:
    licensebot(tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", ACCOUNTS)))
    assert licensebot(tmp_path, "orders", "acme").stdout.strip() == "acme has no orders yet"
    first, second = asyncio.run(place_two_orders(tmp_path))

    listed = licensebot(tmp_path, "orders", "acme", "--json")
    people = licensebot(tmp_path, "orders", "acme")

    assert listed.returncode == 0, listed.stderr
    orders = json.loads(listed.stdout)
    assert [order["reference"] for order in orders] == [second, first]
    assert set(orders[0]) == {
        "reference",
        "status",
        "added",
        "due_today",
        "currency",
        "invoice",
        "created_at",
    }
    assert [(o["status"], o["added"], o["currency"]) for o in orders] == [
        ("paid", 1, "USD"),
        ("paid", 3, "USD"),
    ]
    assert all(o["invoice"].startswith("CH-") and "." in o["due_today"] for o in orders)
    lines = people.stdout.strip().splitlines()
    assert lines[0].startswith(second) and "+1 (13 → 14)" in lines[0]
    assert lines[1].startswith(first) and "+3 (10 → 13)" in lines[1]
    unknown = licensebot(tmp_path, "orders", "nope")
    assert_one_line_error(unknown)


def test_db_upgrade(tmp_path: Path) -> None:
    result = licensebot(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert stored_licenses(tmp_path) == {}  # the tables exist


# --- help -----------------------------------------------------------------------------


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


COMMANDS = command_paths(build_parser())


def test_the_documented_commands_exist() -> None:
    for command in [
        ("db", "upgrade"),
        ("accounts", "import"),
        ("accounts", "list"),
        ("accounts", "show"),
        ("accounts", "link-code"),
        ("accounts", "unlink"),
        ("quote",),
        ("orders",),
        ("tokens", "new-key"),
        ("tokens", "rotate"),
    ]:
        assert command in COMMANDS


OAUTH = {
    "SLACK_CLIENT_ID": "1000.2000",
    "SLACK_CLIENT_SECRET": "a-client-secret",
    "SLACK_SIGNING_SECRET": "a-signing-secret",
    "VENDOR_TEAM_ID": "T0VENDOR",
}


@pytest.mark.parametrize(
    ("missing", "said"),
    [
        ({"TOKEN_ENCRYPTION_KEY": ""}, "OAuth mode needs TOKEN_ENCRYPTION_KEY"),
        ({"TOKEN_ENCRYPTION_KEY": "not-a-key"}, "TOKEN_ENCRYPTION_KEY is not a Fernet key"),
        ({"VENDOR_TEAM_ID": ""}, "OAuth mode needs VENDOR_TEAM_ID"),
    ],
)
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["scheduler"]])
def test_in_oauth_mode_serve_and_the_scheduler_refuse_to_start_without_what_they_need(
    tmp_path: Path, missing: dict[str, str], said: str, command: list[str]
) -> None:
    key = Fernet.generate_key().decode()
    env = {**OAUTH, "TOKEN_ENCRYPTION_KEY": key, **missing}

    result = licensebot(tmp_path, *command, extra_env=env)

    assert_one_line_error(result)
    assert said in result.stderr


def test_tokens_new_key_prints_a_key_serve_accepts(tmp_path: Path) -> None:
    result = licensebot(tmp_path, "tokens", "new-key")
    assert result.returncode == 0
    Fernet(result.stdout.strip().encode())  # a valid key, or this raises


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, ...], Any]]:
    workdir = tmp_path_factory.mktemp("help")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {path: pool.submit(licensebot, workdir, *path, "--help") for path in COMMANDS}
        return workdir, {path: future.result() for path, future in futures.items()}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda path: " ".join(path) or "licensebot")
def test_help_works_on_every_command(
    helps: tuple[Path, dict[tuple[str, ...], subprocess.CompletedProcess[str]]],
    command: tuple[str, ...],
) -> None:
    workdir, results = helps
    result = results[command]
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: licensebot")
    assert "--help" in result.stdout
    assert not (workdir / "licensebot.db").exists()  # help touches no database


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_an_accounts_file_not_in_utf8_is_refused_in_one_line(tmp_path: Path, encoding: str) -> None:
    text = yaml.safe_dump({"accounts": [dict(ACCOUNTS[0], name="Acmé Corp")]}, allow_unicode=True)
    path = tmp_path / "accounts.yml"
    path.write_text(text, encoding=encoding)

    result = licensebot(tmp_path, "accounts", "import", str(path))

    assert result.returncode == 2
    assert_one_line_error(result)
    assert "is not UTF-8 text" in result.stderr and "nothing was imported" in result.stderr
    listed = licensebot(tmp_path, "accounts", "show", "acme")
    assert listed.returncode == 2
