"""Linking a customer's workspace from Slack: the CSM's code, the admin's `/licenses link`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.services.linking import issue_link_code, unlink_account
from tests.slack.conftest import start_workspace
from tests.slack.driver import CSM_CHANNEL, Workspace, assert_calls_ok, block_text

VENDOR = "T0VENDOR"
NEW_TEAM = "T0NEWCO"  # Acme's new workspace, where Ann and Bob type their commands
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


@pytest.fixture
async def vendor_workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The demo with a vendor workspace of its own (CSMs there, customers elsewhere)."""
    async for ws in start_workspace(sqlite_url, tmp_path, vendor_team_id=VENDOR):
        yield ws


@pytest.fixture
async def single_workspace(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """The demo without a vendor workspace: single-workspace mode."""
    async for ws in start_workspace(sqlite_url, tmp_path, vendor_team_id=None):
        yield ws


async def unlinked_acme(ws: Workspace) -> None:
    """Acme, as if its workspace had never been linked."""
    assert await unlink_account(ws.services, "acme", "tests") == "T0ACME"


async def answer(ws: Workspace, user: str, text: str, team_id: str) -> dict[str, Any]:
    """The one ephemeral reply `user` reads after typing `/licenses text`."""
    before = len(ws.slack.ephemerals)
    await ws.command(user, text, team_id=team_id)
    await ws.settle()
    [reply] = ws.slack.ephemerals[before:]
    assert reply["user"] == user
    return reply


def said(reply: dict[str, Any]) -> str:
    return block_text(reply["blocks"]) if reply.get("blocks") else str(reply["text"])


async def test_an_unlinked_workspace_is_told_how_to_link_it(workspace: Workspace) -> None:
    reply = await answer(workspace, "U0NOBODY", "", "T0ELSEWHERE")
    text = said(reply)
    assert "not linked to a licensing account yet" in text
    assert "an admin of your account types `/licenses link CODE` here" in text
    assert "code from your Customer Success Manager" in text
    assert "Acme" not in text and "Globex" not in text  # never another account


async def test_help_lists_the_linking_commands(workspace: Workspace) -> None:
    text = said(await answer(workspace, "U0NOBODY", "help", "T0ELSEWHERE"))
    assert "`/licenses link CODE`" in text
    assert "`/licenses link-code ACCOUNT`" in text


async def test_a_csm_makes_a_code_in_the_vendor_workspace_and_an_admin_links_with_it(
    vendor_workspace: Workspace,
) -> None:
    ws = vendor_workspace
    await unlinked_acme(ws)

    reply = await answer(ws, "U0CSM", "link-code acme", VENDOR)

    # Only Casey sees the code, with when it stops working.
    [posted] = [c for c in ws.slack.calls_to("response_url") if c.params.get("blocks")]
    assert posted.params["response_type"] == "ephemeral"
    text = said(reply)
    assert "Link code for *Acme Corp*" in text
    assert "UTC" in text
    match = CODE.search(text)
    assert match is not None
    code = match.group()

    reply = await answer(ws, "U0ANN", f"link {code.lower()}", NEW_TEAM)

    assert said(reply) == (
        ":white_check_mark: This workspace is now linked to Acme Corp. "
        "Type `/licenses` to see your plan."
    )
    [notice] = ws.slack.messages[CSM_CHANNEL]
    assert "*Acme Corp* (`acme`) is now linked to Slack workspace `T0NEWCO`" in notice["text"]
    # The link is seen at once: Ann's /licenses there shows Acme's plan.
    await ws.command("U0ANN", "", team_id=NEW_TEAM)
    await ws.settle()
    assert "Acme Corp" in block_text(ws.modal("U0ANN")["blocks"])
    assert_calls_ok(ws)


async def test_only_csms_make_codes_and_only_in_the_vendor_workspace(
    vendor_workspace: Workspace,
) -> None:
    ws = vendor_workspace
    await unlinked_acme(ws)

    not_csm = said(await answer(ws, "U0BOB", "link-code acme", VENDOR))
    assert not_csm == ":warning: Only Customer Success Managers can make link codes."
    elsewhere = said(await answer(ws, "U0CSM", "link-code acme", "T0GLOBEX"))
    assert "made by Customer Success Managers in the vendor's Slack workspace" in elsewhere
    assert not CODE.search(not_csm + elsewhere)


async def test_in_single_workspace_mode_a_csm_makes_codes_where_they_are(
    single_workspace: Workspace,
) -> None:
    await unlinked_acme(single_workspace)
    text = said(await answer(single_workspace, "U0CSM2", "link-code acme", "T0ACME"))
    assert CODE.search(text)


async def test_a_code_for_a_linked_account_is_refused_with_what_to_do(
    vendor_workspace: Workspace,
) -> None:
    text = said(await answer(vendor_workspace, "U0CSM", "link-code acme", VENDOR))
    assert text == (
        ":warning: Account “acme” is already linked to Slack workspace T0ACME; unlink it "
        "first (`licensebot accounts unlink acme`)."
    )


async def test_a_wrong_code_is_refused(workspace: Workspace) -> None:
    await unlinked_acme(workspace)
    await issue_link_code(workspace.services, "acme", "tests")
    text = said(await answer(workspace, "U0ANN", "link ZZZZ-ZZZZ-ZZZZ", NEW_TEAM))
    assert text == (
        ":warning: That link code isn't one we know: check it, or ask your Customer Success "
        "Manager for a new one."
    )
    await workspace.command("U0ANN", "", team_id=NEW_TEAM)
    await workspace.settle()
    assert "not linked" in said(workspace.slack.ephemerals[-1])


async def test_a_good_code_typed_by_a_non_admin_is_refused(workspace: Workspace) -> None:
    await unlinked_acme(workspace)
    issued = await issue_link_code(workspace.services, "acme", "tests")
    text = said(await answer(workspace, "U0BOB", f"link {issued.code}", NEW_TEAM))
    assert text.startswith(":warning: Only an admin of Acme Corp can link a Slack workspace")
    # The code still works for an admin.
    text = said(await answer(workspace, "U0ANN", f"link {issued.code}", NEW_TEAM))
    assert "now linked to Acme Corp" in text


async def test_after_five_wrong_codes_the_workspace_waits(workspace: Workspace) -> None:
    await unlinked_acme(workspace)
    issued = await issue_link_code(workspace.services, "acme", "tests")
    for _ in range(5):
        text = said(await answer(workspace, "U0ANN", "link ZZZZ-ZZZZ-ZZZZ", NEW_TEAM))
    assert "That was the 5th wrong code this hour: this workspace can try again after" in text

    text = said(await answer(workspace, "U0ANN", f"link {issued.code}", NEW_TEAM))
    assert text.startswith(":warning: Too many wrong link codes from this workspace: try again")
    assert not workspace.slack.messages.get(CSM_CHANNEL)


async def test_a_linked_workspace_is_not_linked_again(workspace: Workspace) -> None:
    await unlinked_acme(workspace)
    issued = await issue_link_code(workspace.services, "acme", "tests")
    text = said(await answer(workspace, "U0GIL", f"link {issued.code}", "T0GLOBEX"))
    assert text == (
        ":warning: This Slack workspace is already linked to Globex. To link it to another "
        "account, ask your Customer Success Manager to unlink it first."
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("link", "Type the code from your Customer Success Manager after `link`"),
        ("link hello", ":warning: “hello” is not a link code"),
        ("link-code", "Name the account the code is for"),
    ],
)
async def test_missing_or_malformed_arguments_are_explained(
    workspace: Workspace, typed: str, expected: str
) -> None:
    text = said(await answer(workspace, "U0NOBODY", typed, "T0ELSEWHERE"))
    assert expected in text
