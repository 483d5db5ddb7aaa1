"""Accounts: reading them as terms for the rules, showing them, importing them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.domain.errors import AccountNotFound, ImportFileError, NotAnAdmin
from bot.domain.money import MoneyError, format_money, known_currency, to_minor
from bot.domain.periods import as_utc
from bot.domain.plans import CATALOG_CURRENCY, BillingInterval, PlanId, plan_for
from bot.domain.policy import Contacts, add_capacity, is_admin, is_email
from bot.domain.pricing import AccountTerms, iso
from bot.integrations.billing import BillingRefused, BillingUnavailable
from bot.models import Account, AccountAdmin, AuditEntry
from bot.readmodels import AccountOverview, AdminIdentity
from bot.services.context import ServiceContext, account_keys


def unit_price_minor(account: Account) -> int:
    if account.price_per_license_minor is not None:
        return account.price_per_license_minor
    price = plan_for(account.plan).list_price(BillingInterval(account.billing_interval))
    return to_minor(price, account.currency)


def terms_of(account: Account) -> AccountTerms:
    return AccountTerms(
        account_id=account.id,
        plan=PlanId(account.plan),
        interval=BillingInterval(account.billing_interval),
        licenses=account.licenses,
        currency=account.currency,
        unit_price_minor=unit_price_minor(account),
        anchor=account.period_anchor,
    )


def contacts_of(account: Account, settings: Settings) -> Contacts:
    return settings.contacts(csm_name=account.csm_name, csm_email=account.csm_email)


async def load_account(session: AsyncSession, account_id: str, *, lock: bool = False) -> Account:
    """The account with its admins; `lock` holds its row until the transaction ends."""
    query = select(Account).where(Account.id == account_id).options(selectinload(Account.admins))
    if lock:
        query = query.with_for_update()
    account = await session.scalar(query)
    if account is None:
        raise AccountNotFound(account_id)
    return account


async def lock_for_admin(session: AsyncSession, account_id: str, who: AdminIdentity) -> Account:
    """The account, locked for a change that only its admins may make."""
    account = await load_account(session, account_id, lock=True)
    admins = [admin.identifier for admin in account.admins]
    if not is_admin(admins, who.user_id, who.email):
        raise NotAnAdmin(account.name, admins)
    return account


async def account_for_team(session: AsyncSession, team_id: str) -> Account | None:
    account: Account | None = await session.scalar(
        select(Account)
        .where(Account.slack_team_id == team_id)
        .options(selectinload(Account.admins))
    )
    return account


async def enterprise_of(ctx: ServiceContext, team_id: str) -> str | None:
    """The Enterprise Grid org of a linked workspace (None for a standalone one)."""
    account = await recent_account(ctx, team_id=team_id)
    return account.slack_enterprise_id if account is not None else None


async def recent_account(
    ctx: ServiceContext, *, team_id: str | None = None, account_id: str | None = None
) -> Account | None:
    """An account by workspace or id for display and quotes, read at most a moment ago.

    Never for writes: those read under the row lock (load_account(lock=True)).
    """
    key = f"team:{team_id}" if team_id is not None else f"id:{account_id}"

    async def load() -> Account | None:
        async with ctx.reading() as session, session.begin():
            if team_id is not None:
                return await account_for_team(session, team_id)
            found: Account | None = await session.scalar(
                select(Account)
                .where(Account.id == account_id)
                .options(selectinload(Account.admins))
            )
            return found

    def keys_of(found: Account | None) -> tuple[str, ...]:
        # Found by workspace, it is the one by id too (and the other way round).
        return account_keys(found.id, found.slack_team_id) if found is not None else ()

    # Keystrokes that miss together wait for one read.
    account = await ctx.recent.get_or_load(key, load, also=keys_of)
    if account is None and account_id is not None:
        raise AccountNotFound(account_id)
    return account


def overview_of(account: Account, settings: Settings, at: datetime) -> AccountOverview:
    terms = terms_of(account)
    return AccountOverview(
        account_id=account.id,
        name=account.name,
        slack_team_id=account.slack_team_id,
        plan_name=plan_for(terms.plan).display_name,
        terms=terms,
        period=terms.period_at(at),
        admins=[admin.identifier for admin in account.admins],
        csm_name=account.csm_name,
        csm_email=account.csm_email,
        csm_slack_user_id=account.csm_slack_user_id,
        capacity=add_capacity(
            terms, contacts_of(account, settings), settings.max_licenses_per_order
        ),
    )


async def show_account(ctx: ServiceContext, account_id: str) -> AccountOverview:
    async with ctx.reading() as session, session.begin():
        account = await load_account(session, account_id)
        return overview_of(account, ctx.settings, ctx.clock())


# --- the accounts file -------------------------------------------------------------

SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,}$"
# Bounds of what an accounts file may say: beyond them it is a typo, not a contract.
MAX_LICENSES = 1_000_000
MAX_PRICE = Decimal(10**9)  # per license per period, in the major unit
EARLIEST_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_ANCHOR_AHEAD = timedelta(days=366)


class CsmEntry(BaseModel):
    # Built when first used: commands that read no accounts file don't pay for it.
    model_config = ConfigDict(extra="ignore", defer_build=True)

    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, pattern=SLACK_USER_PATTERN)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)


class AccountEntry(BaseModel):
    """One entry of the accounts file. Unknown keys are ignored, known ones are strict."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    slack_team_id: str | None = Field(default=None, pattern=r"^[TE][A-Z0-9]{2,}$")
    plan: PlanId
    billing_interval: BillingInterval
    licenses: int = Field(ge=0, le=MAX_LICENSES, strict=True)
    currency: str = CATALOG_CURRENCY
    price_per_license: Decimal | None = None
    period_start: datetime
    admins: list[str] = Field(default_factory=list)
    csm: CsmEntry | None = None
    # With BILLING_PROVIDER=stripe: who pays, and the subscription whose single item's
    # quantity is the license count.
    stripe_customer: str | None = Field(default=None, pattern=r"^cus_[A-Za-z0-9_]+$")
    stripe_subscription: str | None = Field(default=None, pattern=r"^sub_[A-Za-z0-9_]+$")

    @field_validator("plan", "billing_interval", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not known_currency(code):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return code

    @field_validator("price_per_license", mode="before")
    @classmethod
    def _price_from_text(cls, value: object) -> object:
        # YAML reads 49.00 as a float; its shortest repr is the number that was written.
        return str(value) if isinstance(value, float) else value

    @field_validator("period_start", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: object) -> object:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value

    @field_validator("admins")
    @classmethod
    def _admin_identifiers(cls, admins: list[str]) -> list[str]:
        cleaned = []
        for admin in admins:
            admin = admin.strip()
            if not (re.match(SLACK_USER_PATTERN, admin) or re.match(r"^[^@\s]+@[^@\s]+$", admin)):
                raise ValueError(f"{admin!r} is neither a Slack user ID nor an email")
            cleaned.append(admin.lower() if is_email(admin) else admin)
        return list(dict.fromkeys(cleaned))

    def price_minor(self) -> int | None:
        """The contracted price in minor units, or None for the catalog price."""
        if self.price_per_license is None:
            if self.currency != CATALOG_CURRENCY:
                raise ValueError(
                    f"is required for accounts billed in {self.currency} "
                    f"(catalog prices are in {CATALOG_CURRENCY})"
                )
            return None
        if not self.price_per_license.is_finite():
            raise ValueError("must be a number")
        if self.price_per_license < 0:
            raise ValueError("must not be negative")
        if self.price_per_license > MAX_PRICE:
            raise ValueError(f"must be at most {MAX_PRICE:,}")
        try:
            return to_minor(self.price_per_license, self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from exc


def _entry_label(raw: object, index: int) -> str:
    name = raw.get("id") if isinstance(raw, dict) else None
    return f"account {name!r} (entry {index + 1})" if name else f"entry {index + 1}"


def _anchor_problem(start: datetime, now: datetime) -> str | None:
    if as_utc(start) < EARLIEST_ANCHOR:
        return f"{start:%Y-%m-%d} is before {EARLIEST_ANCHOR:%Y}"
    if as_utc(start) > now + LATEST_ANCHOR_AHEAD:
        return f"{start:%Y-%m-%d} is more than a year ahead"
    return None


def parse_accounts_file(data: object, now: datetime) -> list[tuple[AccountEntry, int | None]]:
    """Validate the whole file first so that a bad file imports nothing."""
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
        raise ImportFileError("the file must have a top-level 'accounts:' list")
    parsed: list[tuple[AccountEntry, int | None]] = []
    seen_ids: dict[str, str] = {}
    seen_teams: dict[str, str] = {}
    for index, raw in enumerate(data["accounts"]):
        label = _entry_label(raw, index)
        try:
            entry = AccountEntry.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "entry"
            raise ImportFileError(f"{label}: field '{field}': {first['msg']}") from None
        try:
            price = entry.price_minor()
        except ValueError as exc:
            raise ImportFileError(f"{label}: field 'price_per_license': {exc}") from None
        anchor_problem = _anchor_problem(entry.period_start, now)
        if anchor_problem:
            raise ImportFileError(f"{label}: field 'period_start': {anchor_problem}")
        if entry.id in seen_ids:
            raise ImportFileError(f"{label}: field 'id': {entry.id!r} appears twice in the file")
        if entry.slack_team_id and entry.slack_team_id in seen_teams:
            raise ImportFileError(
                f"{label}: field 'slack_team_id': {entry.slack_team_id} is also used by "
                f"account {seen_teams[entry.slack_team_id]!r}"
            )
        seen_ids[entry.id] = label
        if entry.slack_team_id:
            seen_teams[entry.slack_team_id] = entry.id
        parsed.append((entry, price))
    return parsed


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def _fields_of(entry: AccountEntry, price: int | None) -> dict[str, Any]:
    csm = entry.csm or CsmEntry()
    return {
        "name": entry.name,
        "slack_team_id": entry.slack_team_id,
        "plan": entry.plan.value,
        "billing_interval": entry.billing_interval.value,
        "licenses": entry.licenses,
        "licenses_in_file": entry.licenses,
        "currency": entry.currency,
        "price_per_license_minor": price,
        "period_anchor": as_utc(entry.period_start),
        "csm_name": csm.name,
        "csm_slack_user_id": csm.slack_user_id,
        "csm_email": csm.email.lower() if csm.email else None,
        "stripe_customer": entry.stripe_customer,
        "stripe_subscription": entry.stripe_subscription,
    }


def _jsonable(value: object) -> object:
    return iso(value) if isinstance(value, datetime) else value


def _entry_unit_price(entry: AccountEntry, price: int | None) -> int:
    if price is not None:
        return price
    return to_minor(plan_for(entry.plan).list_price(entry.billing_interval), entry.currency)


async def _check_subscriptions(
    ctx: ServiceContext, parsed: list[tuple[AccountEntry, int | None]]
) -> None:
    """With Stripe, each named subscription must bill what the file says, field by field.

    Read before the import's transaction: no provider call is made while rows are locked.
    """
    billed = [(entry, price) for entry, price in parsed if entry.stripe_subscription]
    if not billed or not ctx.billing.needs_customer:
        return
    known: dict[str, tuple[int, int]] = {}
    async with ctx.reading() as session, session.begin():
        for ids in _chunks([entry.id for entry, _ in billed]):
            rows = await session.execute(
                select(Account.id, Account.licenses, Account.licenses_in_file).where(
                    Account.id.in_(ids)
                )
            )
            known.update((row.id, (row.licenses, row.licenses_in_file)) for row in rows)
    for entry, price in billed:
        assert entry.stripe_subscription is not None
        label, subscription_id = f"account {entry.id!r}", entry.stripe_subscription
        try:
            subscription = await ctx.billing.subscription(subscription_id)
        except BillingUnavailable as exc:
            raise ImportFileError(f"{label}: Stripe could not be reached ({exc})") from None
        except BillingRefused as exc:
            raise ImportFileError(f"{label}: field 'stripe_subscription': {exc}") from None
        # The count the import leaves the account with: the file's, unless the file's
        # number is unchanged and licenses were bought or removed since.
        licenses = entry.licenses
        if entry.id in known and known[entry.id][1] == entry.licenses:
            licenses = known[entry.id][0]
        unit = _entry_unit_price(entry, price)
        interval = "month" if entry.billing_interval is BillingInterval.MONTHLY else "year"
        for field, ours, theirs, shown_ours, shown_theirs in (
            ("licenses", licenses, subscription.quantity, licenses, subscription.quantity),
            (
                "currency",
                entry.currency,
                subscription.currency,
                entry.currency,
                subscription.currency,
            ),
            (
                "price_per_license",
                unit,
                subscription.unit_amount_minor,
                format_money(unit, entry.currency),
                format_money(subscription.unit_amount_minor, subscription.currency),
            ),
            (
                "billing_interval",
                interval,
                subscription.interval,
                entry.billing_interval.value,
                f"every {subscription.interval}",
            ),
        ):
            if ours != theirs:
                raise ImportFileError(
                    f"{label}: field '{field}': the file says {shown_ours}, but Stripe "
                    f"subscription {subscription_id} bills {shown_theirs}. Fix the file, or "
                    f"take Stripe's values with `licensebot accounts sync {entry.id}`."
                )


# Ids per `IN (...)`: far below the bound-parameter limits of SQLite and PostgreSQL.
IN_CHUNK = 1000
_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _check_workspace_owners(
    session: AsyncSession, parsed: list[tuple[AccountEntry, int | None]]
) -> None:
    """A file may move a workspace between its own accounts, not take one from another."""
    teams = [entry.slack_team_id for entry, _ in parsed if entry.slack_team_id]
    owners: dict[str, str] = {}
    for chunk in _chunks(teams):
        rows = await session.execute(
            select(Account.slack_team_id, Account.id).where(Account.slack_team_id.in_(chunk))
        )
        owners.update((team, owner) for team, owner in rows.tuples() if team is not None)
    in_file = {entry.id for entry, _ in parsed}
    for entry, _ in parsed:  # in file order: the first such entry is the one named
        owner = owners.get(entry.slack_team_id) if entry.slack_team_id else None
        if owner is not None and owner != entry.id and owner not in in_file:
            raise ImportFileError(
                f"account {entry.id!r}: field 'slack_team_id': {entry.slack_team_id} "
                f"already belongs to account {owner!r}"
            )


async def _stored_accounts(session: AsyncSession, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The accounts of `ids` already stored, locked until the import ends: their columns,
    and "admins" in the order they were listed."""
    stored: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        # Plain rows, not Account objects: 100,000 of those would take seconds to build.
        rows = await session.execute(
            select(Account.__table__).where(Account.id.in_(chunk)).with_for_update()
        )
        for row in rows:
            stored[row.id] = {**row._mapping, "admins": []}
    for chunk in _chunks(list(stored)):
        admins = await session.execute(
            select(AccountAdmin.account_id, AccountAdmin.identifier)
            .where(AccountAdmin.account_id.in_(chunk))
            .order_by(AccountAdmin.id)
        )
        for account_id, identifier in admins.tuples():
            stored[account_id]["admins"].append(identifier)
    return stored


@dataclass
class _Writes:
    """The rows one import writes, each list in file order."""

    new_accounts: list[dict[str, Any]]
    # Accounts whose admins are all replaced by those in `new_admins`.
    admins_replaced: list[str]
    new_admins: list[dict[str, Any]]
    # Accounts whose workspace changes: cleared first, so that workspaces can move
    # between the file's accounts in any order.
    teams_moved: list[str]
    updates: list[dict[str, Any]]
    audit: list[dict[str, Any]]


def _audit_row(account_id: str, actor: str, action: str, detail: dict[str, Any]) -> dict[str, Any]:
    # As audit.record writes it, in bulk.
    return {"account_id": account_id, "actor": actor, "action": action, "detail": detail}


def _plan_writes(
    parsed: list[tuple[AccountEntry, int | None]],
    stored: dict[str, dict[str, Any]],
    actor: str,
    result: ImportResult,
) -> _Writes:
    writes = _Writes([], [], [], [], [], [])
    for entry, price in parsed:
        fields = _fields_of(entry, price)
        admins = [{"account_id": entry.id, "identifier": admin} for admin in entry.admins]
        old = stored.get(entry.id)
        if old is None:
            writes.new_accounts.append({"id": entry.id, **fields})
            writes.new_admins.extend(admins)
            result.created.append(entry.id)
            detail = {key: _jsonable(value) for key, value in fields.items()}
            writes.audit.append(
                _audit_row(entry.id, actor, "account.created", {**detail, "admins": entry.admins})
            )
            continue
        if old["licenses_in_file"] == entry.licenses:
            # The file still says what it said: licenses bought or removed in Slack
            # since then stand. Only a changed number in the file overrides them.
            del fields["licenses"]
        licenses_in_file = fields.pop("licenses_in_file")
        changes = {
            key: {"from": _jsonable(old[key]), "to": _jsonable(value)}
            for key, value in fields.items()
            if old[key] != value
        }
        if changes:
            writes.updates.append({"id": entry.id, **fields, "licenses_in_file": licenses_in_file})
            if "slack_team_id" in changes and old["slack_team_id"] is not None:
                writes.teams_moved.append(entry.id)
        elif old["licenses_in_file"] != licenses_in_file:
            writes.updates.append({"id": entry.id, "licenses_in_file": licenses_in_file})
        if old["admins"] != entry.admins:
            changes["admins"] = {"from": old["admins"], "to": entry.admins}
            writes.admins_replaced.append(entry.id)
            writes.new_admins.extend(admins)
        if not changes:
            result.unchanged.append(entry.id)
            continue
        result.updated.append(entry.id)
        writes.audit.append(_audit_row(entry.id, actor, "account.updated", {"changes": changes}))
    return writes


async def _write(session: AsyncSession, writes: _Writes) -> None:
    # Bulk statements, none of which loads rows into the session.
    not_synced = {"synchronize_session": False}
    for chunk in _chunks(writes.teams_moved):
        await session.execute(
            update(Account).where(Account.id.in_(chunk)).values(slack_team_id=None),
            execution_options=not_synced,
        )
    # One executemany per set of columns (it batches only neighbouring rows that match).
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in writes.updates:
        updates.setdefault(tuple(row), []).append(row)
    for rows in updates.values():
        await session.execute(update(Account), rows)
    # After the updates: a new account may take a workspace another one just gave up.
    if writes.new_accounts:
        # NULLs written out, not left out: every row has the same columns, one executemany.
        await session.execute(
            insert(Account), writes.new_accounts, execution_options={"render_nulls": True}
        )
    for chunk in _chunks(writes.admins_replaced):
        await session.execute(
            delete(AccountAdmin).where(AccountAdmin.account_id.in_(chunk)),
            execution_options=not_synced,
        )
    if writes.new_admins:
        await session.execute(insert(AccountAdmin), writes.new_admins)
    if writes.audit:
        await session.execute(insert(AuditEntry), writes.audit)


async def import_accounts(ctx: ServiceContext, data: object, actor: str) -> ImportResult:
    """Create or update the file's accounts in one transaction: all of them or none."""
    parsed = parse_accounts_file(data, ctx.clock())
    await _check_subscriptions(ctx, parsed)
    result = ImportResult([], [], [])
    async with ctx.sessions() as session, session.begin():
        await _check_workspace_owners(session, parsed)
        stored = await _stored_accounts(session, [entry.id for entry, _ in parsed])
        await _write(session, _plan_writes(parsed, stored, actor, result))
    ctx.recent.forget()
    return result


async def account_rows(ctx: ServiceContext) -> list[tuple[str, str, str, int, str | None]]:
    """Every account as (id, name, plan, licenses, slack_team_id), sorted by id.

    One query of five columns: no Account objects, no admins (100,000 accounts list fast).
    Sorted here, by code point, so that every database lists them in the same order.
    """
    async with ctx.reading() as session, session.begin():
        rows = await session.execute(
            select(Account.id, Account.name, Account.plan, Account.licenses, Account.slack_team_id)
        )
        return sorted(rows.tuples(), key=lambda row: row[0])
