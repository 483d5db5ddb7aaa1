"""Large accounts files: one transaction of bulk statements, still all-or-nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.domain.errors import ImportFileError
from bot.models import Account, AccountAdmin, AuditEntry
from bot.services.accounts import IN_CHUNK, ImportResult, import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.orders import AdminIdentity, place_order
from tests.accounts import account

# More accounts than one `IN (...)` holds, so every statement runs over several chunks;
# the tests of updates use fewer, to stay quick.
COUNT = 2 * IN_CHUNK + 500
FEWER = IN_CHUNK + 100


def customer(number: int, **overrides: Any) -> dict[str, Any]:
    """Customer `number`: Acme's terms, its own id, workspace, count and admins."""
    entry = {
        "id": f"cust-{number:05d}",
        "name": f"Customer {number}",
        # Every other account has a workspace.
        "slack_team_id": f"T{number:08d}" if number % 2 else ...,
        "licenses": 1 + number % 40,
        "admins": [f"U{number:08d}", f"admin{number}@example.com"],
    }
    return account(**{**entry, **overrides})


def many(count: int = COUNT, **changed: dict[str, Any]) -> list[dict[str, Any]]:
    """`count` customers; `changed` maps an account id to the overrides of its entry."""
    entries = [customer(number) for number in range(count)]
    return [{**entry, **changed.get(entry["id"], {})} for entry in entries]


async def run_import(ctx: ServiceContext, entries: list[dict[str, Any]]) -> ImportResult:
    return await import_accounts(ctx, {"accounts": entries}, actor="import:big.yml")


async def count(ctx: ServiceContext, table: type[Any]) -> int:
    async with ctx.reading() as session, session.begin():
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def audit_of(ctx: ServiceContext, action: str) -> list[AuditEntry]:
    async with ctx.reading() as session, session.begin():
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows)


async def test_a_large_file_imports_in_one_go_and_again_changes_nothing(
    ctx: ServiceContext,
) -> None:
    entries = many()
    first = await run_import(ctx, entries)
    assert first.created == [entry["id"] for entry in entries]
    assert (first.updated, first.unchanged) == ([], [])
    assert await count(ctx, Account) == COUNT
    assert await count(ctx, AccountAdmin) == 2 * COUNT
    created = await audit_of(ctx, "account.created")
    assert [entry.account_id for entry in created] == first.created  # in file order
    assert created[7].detail["admins"] == ["U00000007", "admin7@example.com"]
    assert created[7].detail["slack_team_id"] == "T00000007"
    assert created[7].detail["licenses"] == 8

    view = await show_account(ctx, "cust-01234")
    assert (view.name, view.slack_team_id, view.terms.licenses) == ("Customer 1234", None, 35)
    assert view.admins == ["U00001234", "admin1234@example.com"]

    again = await run_import(ctx, entries)
    assert again.unchanged == first.created
    assert (again.created, again.updated) == ([], [])
    assert await audit_of(ctx, "account.updated") == []
    assert await count(ctx, AccountAdmin) == 2 * COUNT


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param({"licenses": -3}, "licenses", id="bad-licenses"),
        pytest.param({"slack_team_id": "T00000001"}, "slack_team_id", id="workspace-twice"),
    ],
)
async def test_a_bad_entry_deep_in_a_large_file_imports_nothing(
    ctx: ServiceContext, bad: dict[str, Any], field: str
) -> None:
    await run_import(ctx, [customer(0)])
    entries = many(**{"cust-02222": bad, "cust-00000": {"name": "Renamed"}})

    with pytest.raises(ImportFileError) as error:
        await run_import(ctx, entries)

    assert "'cust-02222'" in str(error.value)
    assert f"'{field}'" in str(error.value)
    assert await count(ctx, Account) == 1
    assert (await show_account(ctx, "cust-00000")).name == "Customer 0"


async def test_a_workspace_of_an_account_outside_a_large_file_is_refused(
    ctx: ServiceContext,
) -> None:
    await run_import(ctx, [customer(1, id="outsider", slack_team_id="T0OUTSIDE")])
    entries = many(**{"cust-02345": {"slack_team_id": "T0OUTSIDE"}})

    with pytest.raises(ImportFileError) as error:
        await run_import(ctx, entries)

    message = str(error.value)
    assert "'cust-02345'" in message and "'slack_team_id'" in message and "outsider" in message
    assert await count(ctx, Account) == 1


async def test_an_update_in_a_large_file_is_audited_with_its_changes(ctx: ServiceContext) -> None:
    await run_import(ctx, many(FEWER))
    renamed = {"name": "Customer One Thousand", "price_per_license": "45.00"}
    result = await run_import(ctx, many(FEWER, **{"cust-01050": renamed}))

    assert result.updated == ["cust-01050"]
    assert len(result.unchanged) == FEWER - 1
    [update] = await audit_of(ctx, "account.updated")
    assert (update.account_id, update.actor) == ("cust-01050", "import:big.yml")
    assert update.detail == {
        "changes": {
            "name": {"from": "Customer 1050", "to": "Customer One Thousand"},
            "price_per_license_minor": {"from": 4900, "to": 4500},
        }
    }
    view = await show_account(ctx, "cust-01050")
    assert view.name == "Customer One Thousand"
    assert view.terms.unit_price_minor == 4500


async def test_admin_lists_that_changed_are_replaced_and_only_those(ctx: ServiceContext) -> None:
    await run_import(ctx, many(FEWER))
    changes = {
        "cust-00010": {"admins": ["bob@example.com"]},
        # Re-listing an admin that stays, in a new order.
        "cust-01070": {"admins": ["admin1070@example.com", "U00001070", "U0NEW"]},
    }
    result = await run_import(ctx, many(FEWER, **changes))

    assert result.updated == ["cust-00010", "cust-01070"]
    assert (await show_account(ctx, "cust-00010")).admins == ["bob@example.com"]
    assert (await show_account(ctx, "cust-01070")).admins == [
        "admin1070@example.com",
        "U00001070",
        "U0NEW",
    ]
    assert (await show_account(ctx, "cust-01071")).admins == [
        "U00001071",
        "admin1071@example.com",
    ]
    assert await count(ctx, AccountAdmin) == 2 * FEWER  # one fewer, one more
    updates = await audit_of(ctx, "account.updated")
    assert updates[0].detail == {
        "changes": {
            "admins": {"from": ["U00000010", "admin10@example.com"], "to": ["bob@example.com"]}
        }
    }


async def test_licenses_bought_in_slack_survive_a_large_reimport(ctx: ServiceContext) -> None:
    entries = many(FEWER)
    await run_import(ctx, entries)
    await place_order(ctx, "cust-01060", AdminIdentity("U00001060"), 3, "bought-in-slack", None)

    again = await run_import(ctx, entries)
    assert "cust-01060" in again.unchanged
    assert (await show_account(ctx, "cust-01060")).terms.licenses == 21 + 3

    # A new number in the file does override the live count.
    result = await run_import(ctx, many(FEWER, **{"cust-01060": {"licenses": 50}}))
    assert result.updated == ["cust-01060"]
    assert (await show_account(ctx, "cust-01060")).terms.licenses == 50


@pytest.mark.parametrize("order", ["taker-first", "giver-first"])
async def test_workspaces_move_between_the_files_accounts_in_any_order(
    ctx: ServiceContext, order: str
) -> None:
    await run_import(ctx, [customer(1), customer(3)])
    # cust-00001 and cust-00003 swap workspaces; a new account takes none of theirs.
    swapped = [
        customer(3, slack_team_id="T00000001"),
        customer(1, slack_team_id="T00000003"),
        customer(5),
    ]
    if order == "giver-first":
        swapped.reverse()

    result = await run_import(ctx, swapped)

    assert sorted(result.updated) == ["cust-00001", "cust-00003"]
    assert result.created == ["cust-00005"]
    assert (await show_account(ctx, "cust-00001")).slack_team_id == "T00000003"
    assert (await show_account(ctx, "cust-00003")).slack_team_id == "T00000001"


async def test_a_new_account_may_take_the_workspace_another_one_gives_up(
    ctx: ServiceContext,
) -> None:
    await run_import(ctx, [customer(1)])
    result = await run_import(
        ctx, [customer(2, slack_team_id="T00000001"), customer(1, slack_team_id=...)]
    )
    assert (result.created, result.updated) == (["cust-00002"], ["cust-00001"])
    assert (await show_account(ctx, "cust-00002")).slack_team_id == "T00000001"
    assert (await show_account(ctx, "cust-00001")).slack_team_id is None
