"""Tickets: opened for removal requests and Sales requests, solved when a CSM decides."""

from __future__ import annotations

from blocks.messages import add_request_sent_blocks, add_request_sent_text
from blocks.tickets import TicketText, removal_ticket, resolution_comment, route_ticket
from bot.domain.policy import Route
from bot.effects.context import EffectDeps, NotYet, record_queued
from bot.effects.dms import dm
from bot.integrations.tickets import NewTicket
from bot.services.outbox import CreateRemovalTicket, OpenRouteTicket, ResolveRemovalTicket
from bot.services.removals import record_ticket, requester_contact
from bot.services.requests import get_add_request, record_add_request_ticket


def _new_ticket(
    account_id: str,
    text: TicketText,
    name: str | None = None,
    email: str | None = None,
    tags: tuple[str, ...] | None = None,
) -> NewTicket:
    extra = {"tags": tags} if tags else {}
    return NewTicket(account_id, name, email, text.subject, text.body, **extra)


async def create_removal_ticket(deps: EffectDeps, effect: CreateRemovalTicket) -> None:
    view = await deps.removal(effect)
    if view.ticket_reference:
        return
    name, email = await requester_contact(deps.services, view.id)
    ref = await deps.tickets.create(
        _new_ticket(view.account_id, removal_ticket(view), name, email),
        # Stable across retries: a POST that timed out but went through is not repeated.
        idempotency_key=f"licensebot-{view.reference}",
    )
    await record_ticket(deps.services, view.id, ref.reference, ref.url)


async def resolve_removal_ticket(deps: EffectDeps, effect: ResolveRemovalTicket) -> None:
    view = await deps.removal(effect)
    if not view.ticket_reference:
        raise NotYet("the ticket has not been created yet")
    await deps.tickets.resolve(view.ticket_reference, resolution_comment(view))


async def open_route_ticket(deps: EffectDeps, effect: OpenRouteTicket) -> None:
    """A ticket for a request routed to Sales; the requester gets both references by DM."""
    if effect.request_id is None:
        await record_queued(deps, effect, Route(effect.route), effect.team_id)
        return
    view = await get_add_request(deps.services, effect.request_id)
    if view.ticket_reference is None:
        tags = ("licensebot", f"license_{view.route.value}")
        ref = await deps.tickets.create(
            _new_ticket(view.account_id, route_ticket(view), tags=tags),
            idempotency_key=effect.key,
        )
        view = await record_add_request_ticket(deps.services, view.id, ref.reference, ref.url)
    await dm(
        deps,
        view.team_id,
        view.requested_by,
        add_request_sent_text(view),
        add_request_sent_blocks(view),
    )


HANDLERS = {
    CreateRemovalTicket: create_removal_ticket,
    ResolveRemovalTicket: resolve_removal_ticket,
    OpenRouteTicket: open_route_ticket,
}
