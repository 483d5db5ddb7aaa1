"""Removal races on PostgreSQL: two CSMs at once, two scheduler processes at once."""

from __future__ import annotations

import asyncio

from bot.bootstrap import bootstrap
from bot.domain.removal import RemovalStatus, Timing, Verdict
from bot.readmodels import SlackUser
from bot.sandbox.demo import VENDOR_TEAM
from bot.scheduler import run_due_work
from bot.services.orders import AdminIdentity
from bot.services.removals import (
    apply_due_removals,
    decide_removal,
    get_removal,
    request_removal,
)
from tests.slack.driver import Workspace
from tests.slack.removal_helpers import (
    ANN,
    APPROVE,
    CSM,
    CSM2,
    DENY,
    ask,
    audit,
    click,
    decision_values,
    dms,
    final_view,
    has_buttons,
    licenses,
    posts,
    renewal_day,
    text_of,
    the_post,
    thread,
    travel_past_renewal,
    view_text,
)


async def test_two_csms_deciding_at_once_make_exactly_one_decision(
    pg_workspace: Workspace,
) -> None:
    ws = pg_workspace
    await ask(ws)
    renewal = await renewal_day(ws)
    await click(ws, CSM, APPROVE)
    approving = ws.modal(CSM)
    await click(ws, CSM2, DENY)
    denying = ws.modal(CSM2)

    await asyncio.gather(
        ws.submit(CSM, decision_values(renewal)),
        ws.submit(CSM2, decision_values(note="Committed until March.")),
    )
    await ws.settle()

    final = await get_removal(ws.services, 1)
    assert final.status in (RemovalStatus.APPROVED, RemovalStatus.DENIED)
    decisions = [entry for entry in await audit(ws) if entry[1] != "removal.requested"]
    assert [entry for entry in decisions if entry[1] != "removal.ticket"] == [
        (final.decided_by, f"removal.{final.status.value}")
    ]
    post = the_post(ws)
    assert not has_buttons(post)
    assert f"<@{final.decided_by}>" in text_of(post)
    assert len(thread(ws, post)) == 1
    assert len(dms(ws, ANN)) == 2  # received, decided
    winner, loser = (approving, denying) if final.decided_by == CSM else (denying, approving)
    verb = "approved" if final.status is RemovalStatus.APPROVED else "denied"
    assert f"You {verb} RR-00001" in view_text(ws, winner["id"])
    assert final_view(ws, loser["id"])["title"]["text"] == "Already decided"
    assert f"<@{final.decided_by}> already {final.status.value} RR-00001" in view_text(
        ws, loser["id"]
    )


async def test_two_scheduler_processes_apply_each_removal_once(
    pg_workspace: Workspace, postgres_url: str
) -> None:
    ws = pg_workspace
    for count in (2, 3, 1):
        await request_removal(
            ws.services, "acme", AdminIdentity(ANN), count, "Smaller team.", Timing.RENEWAL
        )
    for request_id in (1, 2, 3):
        await decide_removal(ws.services, request_id, SlackUser(CSM, VENDOR_TEAM), Verdict.APPROVE)
    while await ws.runtime.effects.drain():
        pass
    assert len(posts(ws)) == 3
    await travel_past_renewal(ws)

    settings = ws.runtime.settings
    async with (
        bootstrap(settings, clock=ws.clock, migrate=False) as first,
        bootstrap(settings, clock=ws.clock, migrate=False) as second,
    ):
        processes = (first, second)
        applied = await asyncio.gather(*(apply_due_removals(rt.services) for rt in processes))
        assert sorted(view.id for batch in applied for view in batch) == [1, 2, 3]

        # Both go on ticking: the outbox work is shared out, never done twice.
        for _ in range(2):
            await asyncio.gather(*(run_due_work(rt) for rt in processes))

    assert await licenses(ws) == 4
    assert [action for _, action in await audit(ws)].count("removal.applied") == 3
    for post in posts(ws):
        replies = [reply for reply in thread(ws, post) if reply.startswith("Applied:")]
        assert len(replies) == 1
        assert "*Applied* on" in text_of(post)
    # Each one reports the count it really left, in the order they were applied.
    views = [await get_removal(ws.services, request_id) for request_id in (1, 2, 3)]
    left = 10
    for view in sorted(views, key=lambda view: view.licenses_left, reverse=True):
        left -= view.remove_count
        assert view.licenses_left == left
    assert left == 4
    took_effect = [dm for dm in dms(ws, ANN) if "took effect" in dm]
    assert sorted(took_effect) == sorted(
        f"Your removal {view.reference} took effect: Acme Corp now has "
        f"{view.licenses_left} licenses."
        for view in views
    )
