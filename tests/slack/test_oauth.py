"""Add to Slack: installing, tokens at rest, and every call made with its workspace's token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from bot.domain.removal import RemovalStatus
from bot.models import AuditEntry, OutboxEntry
from bot.sandbox.demo import CSM_CHANNEL, VENDOR_TEAM
from bot.sandbox.installing import state_of
from bot.sandbox.slack_side import view_submission
from bot.scheduler import run_due_work
from bot.services.accounts import import_accounts
from bot.services.linking import issue_link_code
from bot.services.outbox import SendDm, enqueue_now
from bot.services.removals import get_removal
from tests.slack.driver import Workspace, assert_calls_ok, block_text
from tests.slack.oauth_helpers import (
    finish_install,
    install,
    page_text,
    start_install,
    start_oauth_workspace,
)
from tests.slack.removal_helpers import (
    APPROVE,
    CSM,
    ask,
    decide,
    decision_values,
    dms,
    posts,
    the_post,
)
from tests.slack.test_add_licenses import (
    ANN,
    GIL,
    open_add_modal,
    orders_of,
    submit_view,
    type_count,
)
from tests.slack.test_security import open_add_modal_with_quote, snapshot


@pytest.fixture
async def oauth(database_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The bot in OAuth mode, on SQLite and on PostgreSQL."""
    async for ws in start_oauth_workspace(database_url, tmp_path):
        yield ws


def token_of(ws: Workspace, team_id: str | None) -> str:
    """The bot token Slack issued for `team_id` (None: the org-wide install)."""
    [token] = [t for t, found in ws.slack.installations.items() if found.team_id == team_id]
    return token


async def database_dump(ws: Workspace) -> str:
    """Every value in every table, as a dump of the database would hold them."""
    async with ws.runtime.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        rows = [
            str(row)
            for table in tables
            for row in (await connection.execute(text(f'SELECT * FROM "{table}"'))).all()
        ]
    return "\n".join(rows)


async def test_add_to_slack_installs_a_workspace_and_says_the_one_step_left(
    oauth: Workspace,
) -> None:
    ws = oauth
    status, page = await install(ws, "T0HOOLI")

    assert status == 200
    said = page_text(page)
    assert "licensebot is installed in Hooli" in said
    assert "/licenses link CODE" in said
    bot = await ws.runtime.installations.async_find_bot(enterprise_id=None, team_id="T0HOOLI")  # type: ignore[union-attr]
    assert bot is not None and bot.bot_token == token_of(ws, "T0HOOLI")


async def test_no_token_is_stored_in_clear(oauth: Workspace) -> None:
    ws = oauth
    await install(ws, "T0HOOLI")
    await install(ws, VENDOR_TEAM)

    dump = await database_dump(ws)
    assert "slack_installations" not in dump  # (sanity: values, not names)
    assert "xoxb-" not in dump
    assert token_of(ws, "T0HOOLI") not in dump


async def test_the_vendor_install_page_tells_how_customers_get_codes(oauth: Workspace) -> None:
    status, page = await install(oauth, VENDOR_TEAM)
    assert status == 200
    assert "/licenses link-code ACCOUNT" in page_text(page)


async def test_a_workspace_already_linked_is_told_it_is_ready(oauth: Workspace) -> None:
    status, page = await install(oauth, "T0ACME")
    assert status == 200
    assert "linked to Acme Corp already" in page_text(page)


async def test_a_forged_state_installs_nothing(oauth: Workspace) -> None:
    ws = oauth
    await start_install(ws)
    status, page = await finish_install(ws, code=ws.slack.authorize_code("T0HOOLI"), state="x")

    assert status >= 400
    assert "Nothing was installed" in page_text(page)
    assert (
        await ws.runtime.installations.async_find_bot(enterprise_id=None, team_id="T0HOOLI") is None
    )  # type: ignore[union-attr]


async def test_a_state_used_once_cannot_install_again(oauth: Workspace) -> None:
    ws = oauth
    state = state_of(await start_install(ws))
    first, _ = await finish_install(ws, code=ws.slack.authorize_code("T0HOOLI"), state=state)
    again, page = await finish_install(ws, code=ws.slack.authorize_code("T0GLOBEX"), state=state)

    assert (first, again >= 400) == (200, True)
    assert "Nothing was installed" in page_text(page)
    assert (
        await ws.runtime.installations.async_find_bot(enterprise_id=None, team_id="T0GLOBEX")
        is None
    )  # type: ignore[union-attr]


async def test_cancelling_in_slack_says_so_and_installs_nothing(oauth: Workspace) -> None:
    ws = oauth
    state = state_of(await start_install(ws))
    _, page = await finish_install(ws, error="access_denied", state=state)

    assert "cancelled in Slack, so nothing was installed" in page_text(page)


async def test_the_install_page_on_slack_leads_back_to_the_bot(oauth: Workspace) -> None:
    """Allow on Slack's own page (the fake's) redirects to the bot, which installs."""
    ws = oauth
    ws.slack.installing_team = "T0HOOLI"
    async with ws.http.get(await start_install(ws)) as authorize:
        form = await authorize.text()
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    async with ws.http.post(ws.slack.authorize_url, data=fields) as installed:
        assert installed.status == 200
        assert "licensebot is installed in Hooli" in page_text(await installed.text())


async def test_every_call_uses_the_token_of_the_workspace_it_speaks_to(oauth: Workspace) -> None:
    ws = oauth
    await install(ws, VENDOR_TEAM)
    await install(ws, "T0ACME")

    await open_add_modal(ws)
    view = await type_count(ws, "3")
    await submit_view(ws, ANN, view)
    await ws.settle()
    [order] = await orders_of(ws)
    assert any(order.reference in dm for dm in dms(ws, ANN))

    # Ann asks for a removal in Acme's workspace; Casey approves it in the vendor's.
    await ask(ws)
    post = the_post(ws)
    assert "RR-00001" in block_text(post["blocks"])
    await decide(ws, CSM, APPROVE, decision_values())
    assert any("RR-00001" in dm and "approved" in dm.lower() for dm in dms(ws, ANN))

    assert_calls_ok(ws)
    acme, vendor = token_of(ws, "T0ACME"), token_of(ws, VENDOR_TEAM)
    posts = ws.slack.calls_to("chat.postMessage")
    assert {call.token for call in posts if call.params["channel"] == CSM_CHANNEL} == {vendor}
    assert {call.token for call in posts if call.params["channel"] != CSM_CHANNEL} == {acme}
    assert {call.token for call in ws.slack.calls_to("views.publish")} == {acme}
    assert all(call.installation is not None for call in ws.slack.calls if call.token)


async def test_a_workspace_without_an_install_gets_nothing_and_its_work_is_set_aside(
    oauth: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    ws = oauth
    await install(ws, VENDOR_TEAM)
    await enqueue_now(ws.services, SendDm(team_id="T0GLOBEX", user_id="U0GIL", text="Hello"))

    await run_due_work(ws.runtime)

    async with ws.services.reading() as session:
        entry = await session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "dm.send"))
    assert entry is not None and (entry.status, entry.attempts) == ("dead", 1)
    assert any("not installed in workspace T0GLOBEX" in r.getMessage() for r in caplog.records)


async def test_uninstalling_forgets_the_token_keeps_the_link_and_tells_the_csms(
    oauth: Workspace,
) -> None:
    ws = oauth
    await install(ws, VENDOR_TEAM)
    await install(ws, "T0ACME")

    answer = await ws.event("T0ACME", {"type": "app_uninstalled"})
    assert answer.status == 200
    await ws.settle()

    installations = ws.runtime.installations
    assert installations is not None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0ACME") is None
    async with ws.services.reading() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "workspace.uninstalled" in actions
    told = [m["text"] for m in ws.slack.messages.get(CSM_CHANNEL, [])]
    assert any("removed from Acme Corp's Slack workspace" in line for line in told)

    # Reinstalled, Acme works at once: the link was kept.
    await install(ws, "T0ACME")
    await open_add_modal(ws)
    assert_calls_ok(ws)


async def test_a_decision_clicked_from_a_customer_workspace_is_refused(oauth: Workspace) -> None:
    ws = oauth
    await install(ws, VENDOR_TEAM)
    await install(ws, "T0ACME")
    await ask(ws)
    post = the_post(ws)

    # Casey's user ID, but the click comes signed from Acme's workspace.
    ws.team_id = "T0ACME"
    answer = await ws.click_in_message(CSM, CSM_CHANNEL, post, APPROVE)
    await ws.settle()
    ws.team_id = None

    assert answer.status == 200
    assert (await get_removal(ws.services, 1)).status is RemovalStatus.PENDING
    said = " ".join(str(call.params.get("text")) for call in ws.slack.calls)
    assert "in the vendor's Slack workspace, not from this one" in said


GRID_ACCOUNT = {
    "id": "gridco",
    "name": "Grid Corp",
    "plan": "pro",
    "billing_interval": "monthly",
    "licenses": 4,
    "currency": "USD",
    "price_per_license": "10.00",
    "period_start": "2026-11-01T00:00:00Z",
    "admins": ["U0GINA"],
    "csm": {"name": "Casey Doe", "slack_user_id": "U0CSM", "email": "casey@vendor.example"},
}


async def test_an_org_wide_install_serves_each_linked_workspace_of_the_org(
    oauth: Workspace,
) -> None:
    """Enterprise Grid: one install for the org; Gina's workspace in it is linked and served."""
    ws = oauth
    ws.slack.add_enterprise("E0GRID", "Grid Corp")
    ws.slack.add_team("T0GRIDA", "Grid A", enterprise_id="E0GRID")
    ws.slack.add_user("U0GINA", "gina", email="gina@grid.example", team_id="T0GRIDA")
    await import_accounts(ws.services, {"accounts": [GRID_ACCOUNT]}, actor="tests")
    await install(ws, VENDOR_TEAM)
    status, _ = await install(ws, "E0GRID")
    assert status == 200
    code = await issue_link_code(ws.services, "gridco", "tests")

    await ws.command("U0GINA", f"link {code.code}")
    await ws.settle()
    await ws.command("U0GINA", "add 2")
    await ws.settle()
    view = await type_count(ws, "2", user="U0GINA")
    await submit_view(ws, "U0GINA", view)
    await ws.settle()

    [order] = await orders_of(ws, "gridco")
    assert any(order.reference in dm for dm in dms(ws, "U0GINA"))
    org_token = token_of(ws, None)
    assert {
        call.token
        for call in ws.slack.calls_to("chat.postMessage")
        if call.params["channel"] != CSM_CHANNEL
    } == {org_token}
    assert_calls_ok(ws)


async def test_an_admin_of_one_workspace_cannot_act_on_anothers_account(oauth: Workspace) -> None:
    """Gil (Globex's workspace) sends validly signed requests carrying Acme's modal."""
    ws = oauth
    for team in (VENDOR_TEAM, "T0ACME", "T0GLOBEX"):
        await install(ws, team)
    anns = await open_add_modal_with_quote(ws)
    before = await snapshot(ws)

    # Acme's modal, with its metadata sealed by the bot itself, submitted from Globex.
    trigger = ws.slack.new_trigger_id(GIL, anns["id"])
    ordered = await ws.post_payload(view_submission(ws.user(GIL), anns, trigger))
    await ws.settle()

    assert ordered.status == 200
    assert "out of date" in block_text(ordered.json()["view"]["blocks"])
    assert await snapshot(ws) == before
    assert not [
        call
        for call in ws.slack.calls
        if call.token == token_of(ws, "T0GLOBEX") and call.method == "views.update"
    ]


HANA = "U0HANA"
LINK_CODE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


async def test_the_vendors_story_from_the_readme(oauth: Workspace) -> None:
    """Install in both workspaces, link Hooli with Chris's code, add licenses there, ask to
    remove one, approve it in the vendor's workspace: each message in its own workspace."""
    ws = oauth
    await install(ws, VENDOR_TEAM)
    status, _ = await install(ws, "T0HOOLI")
    assert status == 200

    await ws.command("U0CSM2", "link-code hooli")
    await ws.settle()
    code = LINK_CODE.findall(str(ws.slack.calls_to("response_url")[-1].params))[0]
    await ws.command(HANA, f"link {code}")
    await ws.settle()

    await ws.command(HANA, "add")
    await ws.settle()
    view = await type_count(ws, "2", user=HANA)
    await submit_view(ws, HANA, view)
    await ws.settle()
    await ask(ws, count="1", user=HANA)
    [request] = [post for post in posts(ws) if "RR-00001" in post["text"]]
    await ws.click_in_message("U0CSM2", CSM_CHANNEL, request, APPROVE)
    await ws.settle()
    await ws.submit("U0CSM2", decision_values())
    await ws.settle()

    [order] = await orders_of(ws, "hooli")
    hanas = dms(ws, HANA)
    assert any(order.reference in dm for dm in hanas)
    assert any("RR-00001" in dm and "approved" in dm.lower() for dm in hanas)
    told = [m["text"] for m in ws.slack.messages[CSM_CHANNEL]]
    assert any("Hooli" in line and "is now linked" in line for line in told)
    assert any("RR-00001" in line for line in told)
    hooli, vendor = token_of(ws, "T0HOOLI"), token_of(ws, VENDOR_TEAM)
    for call in ws.slack.calls_to("chat.postMessage"):
        assert call.token == (vendor if call.params["channel"] == CSM_CHANNEL else hooli)
    assert_calls_ok(ws)
