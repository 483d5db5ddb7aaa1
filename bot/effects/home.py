"""App Home: drawn for whoever opens it, and redrawn when their licenses change."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from blocks.home import build_home, build_not_admin_home, build_not_linked_home
from blocks.queue import build_queue_home
from bot.domain.policy import is_email
from bot.effects.context import EffectDeps
from bot.readmodels import Access
from bot.services.access import resolve_access
from bot.services.accounts import show_account
from bot.services.home import home_lists
from bot.services.outbox import Effect, PublishAdminHomes, PublishHome, RefreshRequesterHome
from bot.services.queue import csm_queue, is_csm

log = logging.getLogger(__name__)


async def publish_home(deps: EffectDeps, access: Access) -> None:
    services = deps.services
    if not access.is_admin and await is_csm(services, access.team_id, access.user_id):
        view = build_queue_home(await csm_queue(services, access.user_id))
    elif access.overview is None:
        view = build_not_linked_home(access.team_id, deps.services.settings.support_url)
    elif not access.is_admin:
        view = build_not_admin_home(access.overview)
    else:
        orders, removals, requests = await home_lists(deps.services, access.overview.account_id)
        view = build_home(access.overview, orders, removals, requests)
    client = await deps.slack(access.team_id)
    await client.views_publish(user_id=access.user_id, view=view)


async def refresh_home(deps: EffectDeps, team_id: str, user_id: str) -> None:
    await publish_home(deps, await resolve_access(deps.services, deps.directory, team_id, user_id))


async def refresh_requester_home(deps: EffectDeps, effect: RefreshRequesterHome) -> None:
    view = await deps.removal(effect)
    if view.team_id:
        await refresh_home(deps, view.team_id, view.requested_by)


async def publish_admin_homes(deps: EffectDeps, effect: PublishAdminHomes) -> None:
    overview = await show_account(deps.services, effect.account_id)
    if overview.slack_team_id is None:
        return
    team = overview.slack_team_id
    for admin in overview.admins:
        # Admins listed by email are found in their workspace; one not there has no Home.
        user = await deps.directory.user_id_for(admin, team) if is_email(admin) else admin
        if user is not None:
            await refresh_home(deps, team, user)


async def publish_home_of(deps: EffectDeps, effect: PublishHome) -> None:
    await refresh_home(deps, effect.team_id, effect.user_id)


HANDLERS: dict[type[Effect], Callable[..., Awaitable[None]]] = {
    RefreshRequesterHome: refresh_requester_home,
    PublishHome: publish_home_of,
    PublishAdminHomes: publish_admin_homes,
}
