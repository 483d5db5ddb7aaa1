"""What the removal tests do and read in the workspace: requests, clicks, channel and DMs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from blocks.ids import RemovalAction, RemovalBlock
from bot.models import AuditEntry, Ticket
from bot.services.accounts import show_account
from tests.slack.driver import CSM_CHANNEL, Answer, Workspace, block_text

ANN, BOB, CSM, CSM2 = "U0ANN", "U0BOB", "U0CSM", "U0CSM2"
APPROVE, DENY = "removal_decide:approve", "removal_decide:deny"
REASON = "Two contractors left at the end of their project."


def request_values(
    count: str = "2", reason: str = REASON, timing: str = "renewal"
) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        RemovalBlock.COUNT: {RemovalAction.COUNT: {"type": "number_input", "value": count}},
        RemovalBlock.REASON: {RemovalAction.REASON: {"type": "plain_text_input", "value": reason}},
        RemovalBlock.TIMING: {
            RemovalAction.TIMING: {
                "type": "radio_buttons",
                "selected_option": {
                    "text": {"type": "plain_text", "text": timing},
                    "value": timing,
                },
            }
        },
    }


def decision_values(
    date: str | None = None, note: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    values: dict[str, dict[str, dict[str, Any]]] = {
        RemovalBlock.NOTE: {RemovalAction.NOTE: {"type": "plain_text_input", "value": note}}
    }
    if date is not None:
        values[RemovalBlock.EFFECTIVE] = {
            RemovalAction.EFFECTIVE: {"type": "datepicker", "selected_date": date}
        }
    return values


async def ask(
    ws: Workspace,
    count: str = "2",
    reason: str = REASON,
    timing: str = "renewal",
    user: str = ANN,
) -> Answer:
    """/licenses remove, then Send request; the bot's work after the acks is done."""
    await ws.command(user, "remove")
    await ws.settle()
    answer = await ws.submit(user, request_values(count, reason, timing))
    await ws.settle()
    return answer


def posts(ws: Workspace) -> list[dict[str, Any]]:
    """Top-level messages in the CSM channel."""
    return [m for m in ws.slack.messages.get(CSM_CHANNEL, []) if not m.get("thread_ts")]


def the_post(ws: Workspace) -> dict[str, Any]:
    found = posts(ws)
    assert len(found) == 1, f"expected one request in the CSM channel, found {len(found)}"
    return found[0]


def thread(ws: Workspace, message: dict[str, Any]) -> list[str]:
    return [
        m["text"]
        for m in ws.slack.messages.get(CSM_CHANNEL, [])
        if m.get("thread_ts") == message["ts"]
    ]


def dms(ws: Workspace, user: str) -> list[str]:
    return [m["text"] for m in ws.slack.messages.get(ws.slack.dm_channel(user), [])]


def text_of(message: dict[str, Any]) -> str:
    return block_text(message["blocks"])


def has_buttons(message: dict[str, Any]) -> bool:
    return any(block["type"] == "actions" for block in message["blocks"])


async def click(ws: Workspace, user: str, action_id: str) -> Answer:
    """A click on the request in the CSM channel (as it is now)."""
    answer = await ws.click_in_message(user, CSM_CHANNEL, the_post(ws), action_id)
    await ws.settle()
    return answer


async def decide(
    ws: Workspace, user: str, action_id: str, values: dict[str, Any] | None = None
) -> Answer:
    await click(ws, user, action_id)
    answer = await ws.submit(user, values or {})
    await ws.settle()
    return answer


def final_view(ws: Workspace, view_id: str) -> dict[str, Any]:
    """The modal as the bot last set it.

    After acking a submission with `response_action: update`, the bot updates the modal
    again with views.update; on loopback that call can reach the fake before the driver
    has applied the ack's view, so the bot's last word is read from its calls.
    """
    updates = [c for c in ws.slack.calls_to("views.update") if c.params.get("view_id") == view_id]
    if updates:
        view: dict[str, Any] = updates[-1].params["view"]
        return view
    return ws.slack.views[view_id]


def view_text(ws: Workspace, view_id: str) -> str:
    return block_text(final_view(ws, view_id)["blocks"])


async def tickets(ws: Workspace) -> list[Ticket]:
    async with ws.services.sessions() as session:
        return list(await session.scalars(select(Ticket).order_by(Ticket.id)))


async def audit(ws: Workspace, prefix: str = "removal.") -> list[tuple[str, str]]:
    async with ws.services.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.id)
        )
        return [(row.actor, row.action) for row in rows]


async def licenses(ws: Workspace) -> int:
    return (await show_account(ws.services, "acme")).terms.licenses


async def renewal_day(ws: Workspace) -> str:
    return (await show_account(ws.services, "acme")).period.end.date().isoformat()


async def travel_past_renewal(ws: Workspace) -> None:
    end = (await show_account(ws.services, "acme")).period.end
    ws.clock.travel(seconds=(end - ws.clock()).total_seconds() + timedelta(hours=1).seconds)
