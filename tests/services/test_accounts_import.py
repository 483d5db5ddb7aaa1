"""The accounts file: all-or-nothing, idempotent, every change audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.domain.errors import AccountNotFound, ImportFileError
from bot.models import Account, AuditEntry
from bot.services.accounts import import_accounts, show_account
from bot.services.context import ServiceContext
from bot.services.orders import AdminIdentity, place_order
from tests.accounts import account


def account_entry(**overrides: Any) -> dict[str, Any]:
    return account(**overrides)


GLOBEX = account_entry(
    id="globex",
    name="Globex",
    slack_team_id="T0GLOBEX",
    plan="enterprise",
    billing_interval="annual",
    licenses=3,
    price_per_license="1200.00",
    period_start="2026-01-01T00:00:00Z",
    admins=["U0GIL"],
)


def accounts_file(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"accounts": list(entries)}


async def run_import(ctx: ServiceContext, *entries: dict[str, Any]):  # type: ignore[no-untyped-def]
    return await import_accounts(ctx, accounts_file(*entries), actor="import:test.yml")


async def audit_entries(ctx: ServiceContext, action: str) -> list[AuditEntry]:
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(rows)


async def account_count(ctx: ServiceContext) -> int:
    async with ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def test_import_creates_the_accounts_as_written(ctx: ServiceContext) -> None:
    result = await run_import(ctx, account_entry(), GLOBEX)
    assert sorted(result.created) == ["acme", "globex"]
    assert (result.updated, result.unchanged) == ([], [])

    acme = (await show_account(ctx, "acme")).to_json()
    assert acme["name"] == "Acme Corp"
    assert acme["plan"] == "pro"
    assert acme["plan_name"] == "Pro"
    assert acme["billing_interval"] == "monthly"
    assert acme["licenses"] == 10
    assert acme["currency"] == "USD"
    assert acme["price_per_license"] == "49.00"
    assert acme["slack_team_id"] == "T0ACME"
    assert acme["admins"] == ["U0ANN", "erin@acme.example"]
    assert acme["csm"] == {
        "name": "Casey Doe",
        "email": "casey@vendor.example",
        "slack_user_id": "U0CSM",
    }
    created = await audit_entries(ctx, "account.created")
    assert [entry.account_id for entry in created] == ["acme", "globex"]
    assert all(entry.actor == "import:test.yml" for entry in created)


async def test_a_second_import_of_the_same_file_changes_nothing(ctx: ServiceContext) -> None:
    await run_import(ctx, account_entry(), GLOBEX)
    result = await run_import(ctx, account_entry(), GLOBEX)
    assert (result.created, result.updated) == ([], [])
    assert sorted(result.unchanged) == ["acme", "globex"]
    assert await audit_entries(ctx, "account.updated") == []
    assert len(await audit_entries(ctx, "account.created")) == 2


async def test_the_same_file_read_from_yaml_is_idempotent(ctx: ServiceContext) -> None:
    # YAML reads the unquoted price as a float and the time as a datetime.
    text = """
accounts:
  - id: acme
    name: Acme Corp
    plan: Pro
    billing_interval: Monthly
    licenses: 10
    currency: usd
    price_per_license: 49.00
    period_start: 2026-11-01T00:00:00Z
    admins: [U0ANN, Bob@Acme.Example]
"""
    assert (await import_accounts(ctx, yaml.safe_load(text), actor="t")).created == ["acme"]
    assert (await import_accounts(ctx, yaml.safe_load(text), actor="t")).unchanged == ["acme"]
    acme = (await show_account(ctx, "acme")).to_json()
    assert acme["price_per_license"] == "49.00"
    assert acme["currency"] == "USD"
    assert acme["plan"] == "pro"
    assert acme["admins"] == ["U0ANN", "bob@acme.example"]


async def test_an_update_changes_the_fields_and_is_audited(ctx: ServiceContext) -> None:
    await run_import(ctx, account_entry(), GLOBEX)
    changed = account_entry(
        name="Acme Corporation", licenses=12, price_per_license="45.00", admins=["U0ANN", "U0NEW"]
    )
    result = await run_import(ctx, changed, GLOBEX)
    assert result.updated == ["acme"]
    assert result.unchanged == ["globex"]

    acme = (await show_account(ctx, "acme")).to_json()
    assert acme["name"] == "Acme Corporation"
    assert acme["licenses"] == 12
    assert acme["price_per_license"] == "45.00"
    assert acme["admins"] == ["U0ANN", "U0NEW"]

    [update] = await audit_entries(ctx, "account.updated")
    assert update.account_id == "acme"
    changes = update.detail["changes"]
    assert changes["licenses"] == {"from": 10, "to": 12}
    assert changes["name"] == {"from": "Acme Corp", "to": "Acme Corporation"}
    assert changes["price_per_license_minor"] == {"from": 4900, "to": 4500}
    assert changes["admins"] == {
        "from": ["U0ANN", "erin@acme.example"],
        "to": ["U0ANN", "U0NEW"],
    }
    assert set(changes) == {"name", "licenses", "price_per_license_minor", "admins"}


async def test_changing_only_the_admins_is_an_update(ctx: ServiceContext) -> None:
    await run_import(ctx, account_entry())
    result = await run_import(ctx, account_entry(admins=["bob@acme.example"]))
    assert result.updated == ["acme"]
    assert (await show_account(ctx, "acme")).admins == ["bob@acme.example"]
    # And back again: re-listing a removed admin works.
    result = await run_import(ctx, account_entry())
    assert result.updated == ["acme"]
    assert (await show_account(ctx, "acme")).admins == ["U0ANN", "erin@acme.example"]


async def test_an_omitted_price_is_the_catalog_price(ctx: ServiceContext) -> None:
    await run_import(
        ctx,
        account_entry(price_per_license=...),
        account_entry(
            id="yearly",
            slack_team_id="T0YEARLY",
            billing_interval="annual",
            price_per_license=...,
        ),
    )
    assert (await show_account(ctx, "acme")).to_json()["price_per_license"] == "49.00"
    assert (await show_account(ctx, "yearly")).to_json()["price_per_license"] == "490.00"


async def test_a_date_without_time_is_midnight_utc(ctx: ServiceContext) -> None:
    await import_accounts(
        ctx,
        yaml.safe_load(
            "accounts: [{id: acme, name: Acme, plan: pro, billing_interval: monthly,"
            " licenses: 1, period_start: 2025-01-31}]"
        ),
        actor="t",
    )
    view = await show_account(ctx, "acme")
    assert view.terms.anchor == datetime(2025, 1, 31, tzinfo=UTC)


async def test_jpy_prices_are_whole_yen(ctx: ServiceContext) -> None:
    await run_import(ctx, account_entry(currency="JPY", price_per_license="5000"))
    acme = (await show_account(ctx, "acme")).to_json()
    assert acme["price_per_license"] == "5000"
    assert acme["next_cycle_amount"] == "50000"


BAD_ENTRIES = [
    pytest.param({"plan": "platinum"}, "plan", id="bad-plan"),
    pytest.param({"billing_interval": "weekly"}, "billing_interval", id="bad-interval"),
    pytest.param({"currency": "XYZ"}, "currency", id="bad-currency"),
    pytest.param({"price_per_license": "49.001"}, "price_per_license", id="usd-3-decimals"),
    pytest.param(
        {"currency": "JPY", "price_per_license": "5000.5"}, "price_per_license", id="jpy-decimals"
    ),
    pytest.param({"price_per_license": "-1.00"}, "price_per_license", id="negative-price"),
    pytest.param({"price_per_license": "lots"}, "price_per_license", id="price-not-a-number"),
    pytest.param(
        {"currency": "EUR", "price_per_license": ...}, "price_per_license", id="eur-no-price"
    ),
    pytest.param({"name": ...}, "name", id="missing-name"),
    pytest.param({"plan": ...}, "plan", id="missing-plan"),
    pytest.param({"period_start": ...}, "period_start", id="missing-period-start"),
    pytest.param({"licenses": -1}, "licenses", id="negative-licenses"),
    pytest.param({"licenses": "ten"}, "licenses", id="licenses-not-a-number"),
    pytest.param({"licenses": 2.5}, "licenses", id="fractional-licenses"),
    pytest.param({"period_start": "next tuesday"}, "period_start", id="bad-date"),
    pytest.param({"admins": ["not an admin"]}, "admins", id="bad-admin"),
    pytest.param({"slack_team_id": "T0GLOBEX"}, "slack_team_id", id="team-used-twice"),
    pytest.param({"licenses": 1_000_001}, "licenses", id="licenses-over-a-million"),
    pytest.param({"licenses": 2**31}, "licenses", id="licenses-beyond-32-bits"),
    pytest.param({"price_per_license": 1e30}, "price_per_license", id="price-1e30"),
    pytest.param({"price_per_license": "1000000000.01"}, "price_per_license", id="price-over-1e9"),
    pytest.param({"price_per_license": "NaN"}, "price_per_license", id="price-nan"),
    pytest.param({"period_start": "1999-12-31"}, "period_start", id="anchor-before-2000"),
    pytest.param({"period_start": "9999-12-31"}, "period_start", id="anchor-far-ahead"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_ENTRIES)
async def test_a_bad_file_imports_nothing_and_names_account_and_field(
    ctx: ServiceContext, overrides: dict[str, Any], field: str
) -> None:
    bad = account_entry(id="initech", name="Initech", slack_team_id="T0INITECH")
    bad.update(overrides)
    bad = {key: value for key, value in bad.items() if value is not ...}

    with pytest.raises(ImportFileError) as error:
        await run_import(ctx, GLOBEX, bad)

    message = str(error.value)
    assert "'initech'" in message
    assert f"'{field}'" in message
    assert await account_count(ctx) == 0
    with pytest.raises(AccountNotFound):
        await show_account(ctx, "globex")


async def test_a_duplicate_id_imports_nothing(ctx: ServiceContext) -> None:
    with pytest.raises(ImportFileError) as error:
        await run_import(ctx, account_entry(), GLOBEX, account_entry(slack_team_id="T0OTHER"))
    assert "'acme'" in str(error.value)
    assert "'id'" in str(error.value)
    assert "twice" in str(error.value)
    assert await account_count(ctx) == 0


async def test_a_bad_file_leaves_existing_accounts_as_they_were(ctx: ServiceContext) -> None:
    await run_import(ctx, account_entry(), GLOBEX)
    with pytest.raises(ImportFileError):
        await run_import(ctx, account_entry(licenses=20), account_entry(id="x", plan="nope"))
    assert (await show_account(ctx, "acme")).terms.licenses == 10
    assert await audit_entries(ctx, "account.updated") == []


async def test_a_workspace_owned_by_an_account_outside_the_file_is_refused(
    ctx: ServiceContext,
) -> None:
    await run_import(ctx, GLOBEX)
    with pytest.raises(ImportFileError) as error:
        await run_import(ctx, account_entry(slack_team_id="T0GLOBEX"))
    assert "'acme'" in str(error.value)
    assert "'slack_team_id'" in str(error.value)
    assert "globex" in str(error.value)
    assert await account_count(ctx) == 1


@pytest.mark.parametrize("data", [None, [], {"accounts": "acme"}, {"account": []}, "accounts: []"])
async def test_a_file_without_an_accounts_list_is_refused(
    ctx: ServiceContext, data: object
) -> None:
    with pytest.raises(ImportFileError, match="accounts"):
        await import_accounts(ctx, data, actor="t")


async def test_reimporting_the_same_file_keeps_licenses_bought_in_slack(
    ctx: ServiceContext,
) -> None:
    await run_import(ctx, account_entry())
    await place_order(ctx, "acme", AdminIdentity("U0ANN"), 3, "bought-in-slack", None)

    result = await run_import(ctx, account_entry())

    assert result.unchanged == ["acme"]
    assert (await show_account(ctx, "acme")).terms.licenses == 13


async def test_a_changed_license_count_in_the_file_overrides_the_live_count(
    ctx: ServiceContext,
) -> None:
    await run_import(ctx, account_entry())
    await place_order(ctx, "acme", AdminIdentity("U0ANN"), 3, "bought-in-slack", None)

    result = await run_import(ctx, account_entry(licenses=20))

    assert result.updated == ["acme"]
    assert (await show_account(ctx, "acme")).terms.licenses == 20
    [update] = await audit_entries(ctx, "account.updated")
    assert update.detail["changes"]["licenses"] == {"from": 13, "to": 20}
