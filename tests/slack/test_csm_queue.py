"""A CSM's `/licenses` and App Home: the requests waiting for them, decided right there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.removal import RemovalStatus
from bot.services.removals import get_removal
from tests.slack.conftest import start_workspace
from tests.slack.driver import Workspace, assert_calls_ok, block_text
from tests.slack.removal_helpers import APPROVE, CSM, CSM2, ask, decision_values

QUEUE_EMPTY = "No requests are waiting for a decision."


async def open_queue(ws: Workspace, user: str = CSM) -> dict[str, object]:
    await ws.command(user, "", team_id="T0VENDOR")
    await ws.settle()
    return ws.modal(user)


async def test_a_csm_s_licenses_opens_their_queue_oldest_first(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="2", reason="Two contractors left.")
    ws.clock.travel(hours=26)
    await ask(ws, count="1", reason="One more left.")
    ws.clock.travel(hours=1)

    queue = await open_queue(ws)

    assert queue["title"]["text"] == "CSM queue"  # type: ignore[index]
    text = block_text(queue["blocks"])  # type: ignore[arg-type]
    assert "Requests waiting for a decision, oldest first." in text
    first, second = text.index("`RR-00001`"), text.index("`RR-00002`")
    assert first < second
    assert "*Acme Corp* · Pro · 10 licenses" in text
    assert "`RR-00001` · remove 2 (10 → 8) · asked by <@U0ANN> · open 1 day 3 hours" in text
    assert "`RR-00002` · remove 1 (10 → 9) · asked by <@U0ANN> · open 1 hour" in text
    assert ">Two contractors left." in text
    assert_calls_ok(ws)


async def test_approving_from_the_queue_decides_the_request(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="2", timing="asap")
    queue = await open_queue(ws)

    await ws.click_in_view(CSM, queue, APPROVE)  # type: ignore[arg-type]
    await ws.settle()
    # The decision goes on top of the queue (Back returns to it).
    assert len(ws.slack.calls_to("views.push")) == 1
    today = ws.clock().date().isoformat()
    await ws.submit(CSM, decision_values(today))
    await ws.settle()

    assert (await get_removal(ws.services, 1)).status is RemovalStatus.APPLIED
    # Back on the queue underneath: it was redrawn without the decided request.
    below = ws.slack.modal_stack(CSM)[0]
    assert below["id"] == queue["id"]
    assert QUEUE_EMPTY in block_text(below["blocks"])
    assert QUEUE_EMPTY in block_text((await open_queue(ws))["blocks"])  # type: ignore[arg-type]
    assert_calls_ok(ws)


async def test_a_csm_s_app_home_shows_the_queue(workspace: Workspace) -> None:
    ws = workspace
    await ask(ws, count="2")
    await ws.open_home(CSM)
    await ws.settle()
    home = block_text(ws.slack.homes[CSM]["blocks"])
    assert "CSM queue" in home
    assert "`RR-00001` · remove 2 (10 → 8)" in home


@pytest.fixture
async def account_csms_only(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Workspace]:
    """No CSM_USER_IDS: each CSM decides for the accounts they are the CSM of."""
    async for ws in start_workspace(sqlite_url, tmp_path, csm_user_ids=""):
        yield ws


async def test_an_account_s_csm_sees_only_their_accounts(account_csms_only: Workspace) -> None:
    ws = account_csms_only
    await ask(ws, count="2")  # Acme's CSM is Casey; Chris is Hooli's

    assert "`RR-00001`" in block_text((await open_queue(ws, CSM))["blocks"])  # type: ignore[arg-type]
    assert QUEUE_EMPTY in block_text((await open_queue(ws, CSM2))["blocks"])  # type: ignore[arg-type]


async def test_someone_who_is_no_csm_is_not_shown_a_queue(workspace: Workspace) -> None:
    ws = workspace
    await ws.command("U0BOB", "queue")
    await ws.settle()
    assert ws.slack.calls_to("views.open") == []
    [ephemeral] = ws.slack.ephemerals
    assert "Only license admins of *Acme Corp*" in block_text(ephemeral["blocks"])
