"""`licensebot accounts list`, `accounts show` for people, and unknown account ids: what a
user sees, from the command run as a separate process."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.bootstrap import open_services
from bot.cli import main
from bot.config import Settings
from bot.readmodels import AdminIdentity
from bot.services.orders import place_order
from tests.test_cli import ACCOUNTS, assert_one_line_error, licensebot, write_accounts

BIG: dict[str, Any] = {
    "id": "big",
    "name": "Big Co",
    "slack_team_id": "T0BIG",
    "plan": "pro",
    "billing_interval": "monthly",
    "licenses": 1010,
    "price_per_license": "49.00",
    "period_start": "2026-01-01T00:00:00Z",
    "admins": ["U0BIG"],
}
ACME_EU: dict[str, Any] = {
    "id": "acme-eu",
    "name": "Acme Europe",
    "plan": "essential",
    "billing_interval": "annual",
    "licenses": 2,
    "price_per_license": "190.00",
    "period_start": "2026-01-01T00:00:00Z",
}
SEED = [*ACCOUNTS, BIG, ACME_EU]
# An address nothing listens on: `accounts sync` must answer before calling Stripe.
NO_STRIPE = {
    "BILLING_PROVIDER": "stripe",
    "STRIPE_API_KEY": "sk_test_unused",
    "STRIPE_API_URL": "http://127.0.0.1:9",
}

RUNS: dict[str, tuple[list[str], dict[str, str]]] = {
    "list": (["accounts", "list"], {}),
    "list-json": (["accounts", "list", "--json"], {}),
    "show-big": (["accounts", "show", "big"], {}),
    "show-umbrella": (["accounts", "show", "umbrella"], {}),
    "show-umbrella-json": (["accounts", "show", "umbrella", "--json"], {}),
    "show-globex": (["accounts", "show", "globex"], {}),
    # Unknown ids, in every command that takes ACCOUNT.
    "show-Globex": (["accounts", "show", "Globex"], {}),
    "link-code-yearl": (["accounts", "link-code", "yearl"], {}),
    "unlink-INITECH": (["accounts", "unlink", "INITECH"], {}),
    "sync-Umbrela": (["accounts", "sync", "Umbrela"], NO_STRIPE),
    "orders-nipon": (["orders", "nipon", "--json"], {}),
    "quote-ACME": (["quote", "ACME", "--add", "1", "--json"], {}),
    "quote-nothing-close": (["quote", "zzzzzz", "--add", "1"], {}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("cli-accounts")
    imported = licensebot(
        workdir, "accounts", "import", str(write_accounts(workdir / "a.yml", SEED))
    )
    assert imported.returncode == 0, imported.stderr
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(licensebot, workdir, *args, extra_env=env)
            for name, (args, env) in RUNS.items()
        }
        return {name: future.result() for name, future in futures.items()}


# --- accounts list ---------------------------------------------------------------------


def test_accounts_list_is_a_table_sorted_by_id(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["list"]
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "ID         NAME           PLAN          LICENSES  WORKSPACE\n"
        "acme       Acme Corp      Pro                 10  T0ACME\n"
        "acme-eu    Acme Europe    Essential            2  not linked\n"
        "big        Big Co         Pro              1,010  T0BIG\n"
        "globex     Globex         Enterprise           3  not linked\n"
        "initech    Initech        Enterprise           6  not linked\n"
        "month-end  Month End Ltd  Pro                  2  not linked\n"
        "nippon     Nippon KK      Pro                 10  not linked\n"
        "umbrella   Umbrella       Gong Edition        40  not linked\n"
        "yearly     Yearly Inc     Essential            4  not linked\n"
    )


def test_accounts_list_json(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["list-json"]
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [entry["id"] for entry in listed] == sorted(entry["id"] for entry in SEED)
    by_id = {entry["id"]: entry for entry in listed}
    assert by_id["big"] == {
        "id": "big",
        "name": "Big Co",
        "plan": "pro",
        "licenses": 1010,
        "workspace": "T0BIG",
    }
    assert by_id["umbrella"] == {
        "id": "umbrella",
        "name": "Umbrella",
        "plan": "gong",
        "licenses": 40,
        "workspace": None,
    }


def test_accounts_list_with_no_accounts(tmp_path: Path) -> None:
    text = licensebot(tmp_path, "accounts", "list")
    as_json = licensebot(tmp_path, "accounts", "list", "--json")

    assert text.returncode == 0, text.stderr
    assert text.stdout == "no accounts yet: add them with `licensebot accounts import FILE`\n"
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == []


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement run in this process while the test runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])  # (conn, cursor, statement, parameters, context, executemany)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


def test_accounts_list_reads_the_accounts_in_one_query_and_no_admins(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    statements: list[str],
) -> None:
    licensebot(tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", SEED)))
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'licensebot.db'}")

    assert main(["accounts", "list", "--json"]) == 0

    assert len(json.loads(capsys.readouterr().out)) == len(SEED)
    touching = [sql for sql in statements if "accounts" in sql or "account_admins" in sql]
    assert len(touching) == 1, touching
    assert "account_admins" not in touching[0]


# --- accounts show, for people ---------------------------------------------------------


def value_column(lines: list[str]) -> set[int]:
    """Where the value starts on each `label: value` line."""
    columns = set()
    for line in lines:
        label, _, rest = line.partition(":")
        columns.add(len(label) + 1 + (len(rest) - len(rest.lstrip(" "))))
    return columns


def test_accounts_show_aligns_its_lines_and_separates_thousands(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["show-big"]
    assert result.returncode == 0, result.stderr
    title, *lines = result.stdout.splitlines()
    assert title == "Big Co (big)"
    assert len(value_column(lines)) == 1, lines  # labels padded to one width
    assert "  Licenses:          1,010" in lines
    assert "  Next cycle:        $49,490.00 per month" in lines
    assert "  Plan:              Pro, billed monthly" in lines
    assert (
        "  Adding licenses:   self-serve: an admin can add up to 1,000 licenses now, "
        "in Slack with /licenses add"
    ) in lines


def test_accounts_show_says_who_handles_adding_licenses(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["show-umbrella"]
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The sentence admins read, as the JSON has it.
    reason = json.loads(runs["show-umbrella-json"].stdout)["self_serve_add"]["reason"]
    assert "Gong Edition" in reason
    assert lines[-2:] == [
        "  Adding licenses:   not self-serve: admins go through their Customer Success Manager",
        f"                     they are told: “{reason}”",
    ]
    assert "through csm" not in result.stdout
    # Enterprise, 3 of its 5 self-serve licenses: room for 2.
    globex = runs["show-globex"].stdout.splitlines()
    assert globex[-1] == (
        "  Adding licenses:   self-serve: an admin can add up to 2 licenses now, "
        "in Slack with /licenses add"
    )


# --- unknown accounts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("show-Globex", "licensebot accounts show: no account 'Globex'; did you mean 'globex'?"),
        (
            "link-code-yearl",
            "licensebot accounts link-code: no account 'yearl'; did you mean 'yearly'?",
        ),
        (
            "unlink-INITECH",
            "licensebot accounts unlink: no account 'INITECH'; did you mean 'initech'?",
        ),
        (
            "sync-Umbrela",
            "licensebot accounts sync: no account 'Umbrela'; did you mean 'umbrella'?",
        ),
        ("orders-nipon", "licensebot orders: no account 'nipon'; did you mean 'nippon'?"),
        ("quote-ACME", "licensebot quote: no account 'ACME'; did you mean 'acme' or 'acme-eu'?"),
        (
            "quote-nothing-close",
            "licensebot quote: no account 'zzzzzz' "
            "(`licensebot accounts list` shows every account)",
        ),
    ],
)
def test_an_unknown_account_is_named_with_the_closest_ids(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str, said: str
) -> None:
    result = runs[name]
    assert_one_line_error(result)
    assert result.stderr == said + "\n"
    assert result.stdout == ""


def test_an_unknown_account_when_there_are_none(tmp_path: Path) -> None:
    result = licensebot(tmp_path, "accounts", "show", "acme")
    assert_one_line_error(result)
    assert result.stderr == (
        "licensebot accounts show: no account 'acme': there are no accounts yet "
        "(add them with `licensebot accounts import FILE`)\n"
    )


# --- thousands separators elsewhere ----------------------------------------------------


async def order_a_thousand(workdir: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{workdir / 'licensebot.db'}")  # type: ignore[call-arg]
    async with open_services(settings, migrate=False) as ctx:
        await place_order(ctx, "big", AdminIdentity("U0BIG"), 1000, "order-big", None)


def test_orders_and_imports_separate_thousands(tmp_path: Path) -> None:
    many = [
        {**ACME_EU, "id": f"customer-{index:04d}", "name": f"Customer {index}"}
        for index in range(1000)
    ]
    imported = licensebot(
        tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", [BIG, *many]))
    )
    assert imported.returncode == 0, imported.stderr
    assert "1,001 created, 0 updated, 0 unchanged" in imported.stdout
    asyncio.run(order_a_thousand(tmp_path))

    orders = licensebot(tmp_path, "orders", "big")

    assert orders.returncode == 0, orders.stderr
    assert "+1,000 (1,010 → 2,010)" in orders.stdout
