"""Linking a customer workspace to its account, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.errors import (
    AccountAlreadyLinked,
    AccountLinkedElsewhere,
    AccountNotFound,
    LinkInputError,
    LinkTriesExhausted,
    NotAnAdminToLink,
    OnlyCsmsMakeCodes,
    VendorWorkspaceNotLinkable,
    WorkspaceAlreadyLinked,
    WrongLinkCode,
)
from bot.integrations.slack_directory import Profile
from bot.models import Account, AuditEntry, LinkCode, LinkFailure, OutboxEntry
from bot.sandbox.demo import demo_accounts
from bot.services.access import resolve_access
from bot.services.accounts import import_accounts
from bot.services.context import ServiceContext
from bot.services.linking import (
    issue_link_code,
    issue_link_code_for_csm,
    link_workspace,
    unlink_account,
)
from tests.accounts import account
from tests.clocks import Clock
from tests.conftest import make_settings

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
VENDOR = "T0VENDOR"
NEW_TEAM, OTHER_TEAM = "T0NEW", "T0OTHER"
# Acme not linked yet; Globex linked to T0GLOBEX by the accounts file.
ACME = account(slack_team_id=...)
GLOBEX = next(entry for entry in demo_accounts()["accounts"] if entry["id"] == "globex")
NOT_A_CODE_WE_MADE = "ZZZZ-ZZZZ-ZZZZ"


class Directory:
    """Slack's users.info as the demo workspace answers it; remembers who was looked up."""

    def __init__(self) -> None:
        self.emails = {"U0ANN": "ann@acme.example", "U0ERIN": "erin@acme.example"}
        self.asked: list[tuple[str, str | None]] = []

    async def profile(self, user_id: str, team_id: str | None = None) -> Profile:
        self.asked.append((user_id, team_id))
        return Profile(None, self.emails.get(user_id))

    async def email_of(self, user_id: str, team_id: str | None = None) -> str | None:
        return (await self.profile(user_id, team_id)).email

    async def user_id_for(self, email: str, team_id: str | None = None) -> str | None:
        return None


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
async def svc(ctx: ServiceContext, clock: Clock) -> ServiceContext:
    """Acme (CSM U0CSM, admins U0ANN and erin@acme.example) unlinked, Globex linked."""
    settings = make_settings(
        ctx.settings.database_url, csm_user_ids="U0CSM2", vendor_team_id=VENDOR
    )
    services = dataclasses.replace(ctx, settings=settings, clock=clock)
    await import_accounts(services, {"accounts": [ACME, GLOBEX]}, actor="tests")
    return services


async def code_for(svc: ServiceContext, account_id: str = "acme", **kwargs: Any) -> str:
    return (await issue_link_code(svc, account_id, "cli", **kwargs)).code


async def workspace_of(svc: ServiceContext, account_id: str = "acme") -> str | None:
    async with svc.sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account.slack_team_id


async def link_codes(svc: ServiceContext) -> list[LinkCode]:
    async with svc.sessions() as session:
        return list(await session.scalars(select(LinkCode).order_by(LinkCode.id)))


async def wrong_tries(svc: ServiceContext, team_id: str) -> int:
    async with svc.sessions() as session:
        rows = await session.scalars(select(LinkFailure).where(LinkFailure.team_id == team_id))
        return len(list(rows))


async def audit_trail(svc: ServiceContext) -> list[tuple[str, str, dict[str, Any]]]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.action.in_(
                    ["link_code.created", "workspace.linked", "workspace.unlinked"]
                )
            )
            .order_by(AuditEntry.id)
        )
        return [(row.actor, row.action, dict(row.detail)) for row in rows]


async def csm_notices(svc: ServiceContext) -> list[str]:
    async with svc.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == "csm.notice").order_by(OutboxEntry.id)
        )
        return [row.payload["text"] for row in rows]


# --- a good code ---------------------------------------------------------------------------


async def test_an_admin_links_their_workspace_with_a_good_code(
    svc: ServiceContext, directory: Directory
) -> None:
    issued = await issue_link_code(svc, "acme", "cli")
    assert issued.expires_at == NOW + timedelta(hours=24)
    # Asked before the link: the workspace has no account, and that answer is cached.
    assert (await resolve_access(svc, directory, NEW_TEAM, "U0ANN")).overview is None

    linked = await link_workspace(svc, directory, NEW_TEAM, "U0ANN", issued.code)

    assert (linked.account_name, linked.team_id) == ("Acme Corp", NEW_TEAM)
    assert await workspace_of(svc) == NEW_TEAM
    access = await resolve_access(svc, directory, NEW_TEAM, "U0ANN")
    assert access.overview is not None and access.overview.account_id == "acme"
    assert access.is_admin
    [row] = await link_codes(svc)
    assert (row.used_at, row.used_by_team) == (NOW, NEW_TEAM)
    assert [(actor, action) for actor, action, _ in await audit_trail(svc)] == [
        ("cli", "link_code.created"),
        ("U0ANN", "workspace.linked"),
    ]
    [notice] = await csm_notices(svc)
    assert "*Acme Corp* (`acme`) is now linked to Slack workspace `T0NEW`" in notice
    # Ann is an admin by her user ID: Slack was not asked for her email.
    assert directory.asked == []


async def test_the_code_itself_is_stored_nowhere(svc: ServiceContext) -> None:
    code = await code_for(svc)
    bare = code.replace("-", "")
    [row] = await link_codes(svc)
    stored = [str(value) for value in row.__dict__.values()]
    stored += [str(detail) for _, _, detail in await audit_trail(svc)]
    assert not any(bare in value or code in value for value in stored)


@pytest.mark.parametrize(
    "typing", [str.lower, lambda code: code.replace("-", " "), lambda c: c.replace("-", "")]
)
async def test_a_code_may_be_typed_in_any_case_with_or_without_dashes(
    svc: ServiceContext, directory: Directory, typing: Any
) -> None:
    code = await code_for(svc)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", typing(code))
    assert await workspace_of(svc) == NEW_TEAM


async def test_an_admin_listed_by_email_is_matched_through_slack(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    await link_workspace(svc, directory, NEW_TEAM, "U0ERIN", code)
    assert await workspace_of(svc) == NEW_TEAM
    assert directory.asked == [("U0ERIN", NEW_TEAM)]
    [notice] = await csm_notices(svc)
    assert "U0ERIN (erin@acme.example)" in notice


# --- wrong, expired, used codes --------------------------------------------------------------


async def test_a_wrong_code_is_refused_counted_and_links_nothing(
    svc: ServiceContext, directory: Directory
) -> None:
    await code_for(svc)
    with pytest.raises(WrongLinkCode, match="That link code isn't one we know: check it, or ask"):
        await link_workspace(svc, directory, NEW_TEAM, "U0ANN", NOT_A_CODE_WE_MADE)
    assert await workspace_of(svc) is None
    assert await wrong_tries(svc, NEW_TEAM) == 1
    assert await csm_notices(svc) == []
    assert directory.asked == []


async def test_an_expired_code_is_refused(
    svc: ServiceContext, directory: Directory, clock: Clock
) -> None:
    code = await code_for(svc, ttl_hours=2)
    clock.travel(hours=2)
    with pytest.raises(WrongLinkCode, match="That link code has expired"):
        await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    assert await workspace_of(svc) is None
    assert await wrong_tries(svc, NEW_TEAM) == 1


async def test_a_code_works_until_it_expires(
    svc: ServiceContext, directory: Directory, clock: Clock
) -> None:
    code = await code_for(svc)
    clock.travel(hours=23, minutes=59)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    assert await workspace_of(svc) == NEW_TEAM


async def test_a_used_code_is_refused_the_second_time(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    with pytest.raises(WrongLinkCode, match="That link code was already used"):
        await link_workspace(svc, directory, OTHER_TEAM, "U0ANN", code)
    assert await workspace_of(svc) == NEW_TEAM
    assert await wrong_tries(svc, OTHER_TEAM) == 1


@pytest.mark.parametrize("typed", ["hello", "ABCD-EFGH", "ABCD-EFGH-JKL0"])
async def test_text_that_is_no_code_is_explained_and_not_counted(
    svc: ServiceContext, directory: Directory, typed: str
) -> None:
    with pytest.raises(LinkInputError, match="is not a link code: codes have 12 letters"):
        await link_workspace(svc, directory, NEW_TEAM, "U0ANN", typed)
    assert await wrong_tries(svc, NEW_TEAM) == 0


# --- who may use a code ----------------------------------------------------------------------


async def test_a_good_code_typed_by_a_non_admin_is_refused_and_stays_good(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    for _ in range(6):  # more than the wrong tries allowed: these are not wrong codes
        with pytest.raises(NotAnAdminToLink, match="Only an admin of Acme Corp can link"):
            await link_workspace(svc, directory, NEW_TEAM, "U0BOB", code)
    assert await workspace_of(svc) is None
    assert await wrong_tries(svc, NEW_TEAM) == 0
    [row] = await link_codes(svc)
    assert row.used_at is None
    # Acme lists an admin by email, so Slack was asked for Bob's.
    assert ("U0BOB", NEW_TEAM) in directory.asked

    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    assert await workspace_of(svc) == NEW_TEAM


# --- the lockout -------------------------------------------------------------------------------


async def test_five_wrong_codes_in_an_hour_lock_the_workspace_for_the_rest_of_it(
    svc: ServiceContext, directory: Directory, clock: Clock
) -> None:
    code = await code_for(svc)
    first_try = clock.now
    for _ in range(4):
        with pytest.raises(WrongLinkCode) as wrong:
            await link_workspace(svc, directory, NEW_TEAM, "U0ANN", NOT_A_CODE_WE_MADE)
        assert wrong.value.locked_until is None
        clock.travel(minutes=10)
    with pytest.raises(
        WrongLinkCode,
        match="5th wrong code this hour: this workspace can try again after 2026-11-16 10:00 UTC",
    ):
        await link_workspace(svc, directory, NEW_TEAM, "U0ANN", NOT_A_CODE_WE_MADE)

    # Even the good code is refused now, and the refusal is not another wrong try.
    clock.travel(minutes=19)
    with pytest.raises(LinkTriesExhausted, match="try again after 2026-11-16 10:00 UTC") as refused:
        await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    assert refused.value.until == first_try + timedelta(hours=1)
    assert await wrong_tries(svc, NEW_TEAM) == 5
    assert await workspace_of(svc) is None

    # Another workspace is not held up by this one's tries.
    with pytest.raises(WrongLinkCode):
        await link_workspace(svc, directory, OTHER_TEAM, "U0ANN", NOT_A_CODE_WE_MADE)

    # Once the first wrong try is an hour old, the good code links.
    clock.now = first_try + timedelta(hours=1)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", code)
    assert await workspace_of(svc) == NEW_TEAM


# --- one workspace, one account --------------------------------------------------------------


async def test_a_code_for_an_account_linked_elsewhere_says_to_unlink_first(
    svc: ServiceContext, directory: Directory
) -> None:
    first, second = await code_for(svc), await code_for(svc)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", first)

    with pytest.raises(
        AccountLinkedElsewhere, match=r"already linked to another Slack workspace.*unlink it first"
    ):
        await link_workspace(svc, directory, OTHER_TEAM, "U0ANN", second)
    assert await workspace_of(svc) == NEW_TEAM
    assert await wrong_tries(svc, OTHER_TEAM) == 0
    assert [row.used_at is None for row in await link_codes(svc)] == [False, True]


async def test_a_workspace_already_linked_is_not_linked_again(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    with pytest.raises(WorkspaceAlreadyLinked, match=r"already linked to Globex.*unlink it first"):
        await link_workspace(svc, directory, "T0GLOBEX", "U0ANN", code)
    assert await workspace_of(svc) is None
    assert await workspace_of(svc, "globex") == "T0GLOBEX"
    assert await wrong_tries(svc, "T0GLOBEX") == 0
    [row] = await link_codes(svc)
    assert row.used_at is None


async def test_no_code_is_made_for_an_account_that_has_a_workspace(svc: ServiceContext) -> None:
    with pytest.raises(
        AccountAlreadyLinked, match="already linked to Slack workspace T0GLOBEX; unlink it first"
    ):
        await issue_link_code(svc, "globex", "cli")
    assert await link_codes(svc) == []


async def test_the_vendor_workspace_is_never_linked(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    with pytest.raises(VendorWorkspaceNotLinkable):
        await link_workspace(svc, directory, VENDOR, "U0ANN", code)
    assert await workspace_of(svc) is None


@pytest.mark.parametrize("hours", [0, 721])
async def test_a_code_lasts_between_an_hour_and_thirty_days(
    svc: ServiceContext, hours: int
) -> None:
    with pytest.raises(LinkInputError, match="between 1 and 720 hours"):
        await issue_link_code(svc, "acme", "cli", ttl_hours=hours)
    assert await link_codes(svc) == []


async def test_a_code_for_an_unknown_account(svc: ServiceContext) -> None:
    with pytest.raises(AccountNotFound, match="nope"):
        await issue_link_code(svc, "nope", "cli")


# --- unlinking -------------------------------------------------------------------------------


async def test_unlink_then_relink_with_a_new_code(
    svc: ServiceContext, directory: Directory
) -> None:
    first, spare = await code_for(svc), await code_for(svc)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", first)

    assert await unlink_account(svc, "acme", "cli") == NEW_TEAM
    assert await workspace_of(svc) is None
    assert (await resolve_access(svc, directory, NEW_TEAM, "U0ANN")).overview is None
    # A code made before the unlink no longer works: linking again takes a new one.
    with pytest.raises(WrongLinkCode, match="expired"):
        await link_workspace(svc, directory, OTHER_TEAM, "U0ANN", spare)

    await link_workspace(svc, directory, OTHER_TEAM, "U0ANN", await code_for(svc))
    assert await workspace_of(svc) == OTHER_TEAM
    assert [(actor, action) for actor, action, _ in await audit_trail(svc)] == [
        ("cli", "link_code.created"),
        ("cli", "link_code.created"),
        ("U0ANN", "workspace.linked"),
        ("cli", "workspace.unlinked"),
        ("cli", "link_code.created"),
        ("U0ANN", "workspace.linked"),
    ]


async def test_unlinking_an_unlinked_account_changes_nothing(svc: ServiceContext) -> None:
    assert await unlink_account(svc, "acme", "cli") is None
    assert await audit_trail(svc) == []


async def test_a_workspace_linked_by_the_accounts_file_can_be_unlinked(svc: ServiceContext) -> None:
    assert await unlink_account(svc, "globex", "cli") == "T0GLOBEX"
    assert await workspace_of(svc, "globex") is None
    [(_, action, detail)] = await audit_trail(svc)
    assert (action, detail) == ("workspace.unlinked", {"team": "T0GLOBEX"})


# --- codes made by CSMs in Slack --------------------------------------------------------------


@pytest.mark.parametrize("csm", ["U0CSM", "U0CSM2"])  # the account's CSM; one of CSM_USER_IDS
async def test_a_csm_makes_a_code_in_the_vendor_workspace(
    svc: ServiceContext, directory: Directory, csm: str
) -> None:
    issued = await issue_link_code_for_csm(svc, "acme", VENDOR, csm)
    await link_workspace(svc, directory, NEW_TEAM, "U0ANN", issued.code)
    assert await workspace_of(svc) == NEW_TEAM
    assert (csm, "link_code.created") in [(a, b) for a, b, _ in await audit_trail(svc)]


async def test_only_csms_make_codes(svc: ServiceContext) -> None:
    with pytest.raises(
        OnlyCsmsMakeCodes, match=r"^Only Customer Success Managers can make link codes\.$"
    ):
        await issue_link_code_for_csm(svc, "acme", VENDOR, "U0BOB")
    # In a customer's workspace, not even a CSM: and no account is looked up.
    with pytest.raises(OnlyCsmsMakeCodes, match="in the vendor's Slack workspace"):
        await issue_link_code_for_csm(svc, "nope", "T0GLOBEX", "U0CSM")
    assert await link_codes(svc) == []


async def test_single_workspace_mode_lets_csms_make_codes_anywhere(
    svc: ServiceContext,
) -> None:
    single = dataclasses.replace(
        svc, settings=make_settings(svc.settings.database_url, csm_user_ids="U0CSM2")
    )
    issued = await issue_link_code_for_csm(single, "acme", "T0GLOBEX", "U0CSM2")
    assert len(issued.code) == len("ABCD-EFGH-JKMN")


# --- at the same moment ------------------------------------------------------------------------


async def test_one_code_used_twice_at_once_links_one_workspace(
    svc: ServiceContext, directory: Directory
) -> None:
    code = await code_for(svc)
    results = await asyncio.gather(
        link_workspace(svc, directory, NEW_TEAM, "U0ANN", code),
        link_workspace(svc, directory, OTHER_TEAM, "U0ANN", code),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], WrongLinkCode), results
    assert await workspace_of(svc) in {NEW_TEAM, OTHER_TEAM}


async def test_two_accounts_linking_one_workspace_at_once_link_one(
    svc: ServiceContext, directory: Directory
) -> None:
    initech = {key: value for key, value in GLOBEX.items() if key != "slack_team_id"}
    initech.update(id="initech", name="Initech", admins=["U0ANN"])
    await import_accounts(svc, {"accounts": [initech]}, actor="tests")
    codes = [await code_for(svc, "acme"), await code_for(svc, "initech")]
    results = await asyncio.gather(
        *(link_workspace(svc, directory, NEW_TEAM, "U0ANN", code) for code in codes),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], WorkspaceAlreadyLinked), results
    assert {await workspace_of(svc, "acme"), await workspace_of(svc, "initech")} == {NEW_TEAM, None}
