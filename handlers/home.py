"""App Home: published whenever a user opens the tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.history import build_history_modal
from blocks.ids import Action
from blocks.messages import only_admins_text
from blocks.metadata import HistoryPage
from blocks.plan import build_info_modal
from bot.bootstrap import Runtime
from bot.services.home import account_history
from bot.services.outbox import PublishHome, enqueue_now
from handlers.middleware import Caller, listener
from handlers.surfaces import Interaction


async def on_home_opened(event: dict[str, Any], caller: Caller, runtime: Runtime) -> None:
    if event.get("tab", "home") == "home":
        home = PublishHome(team_id=caller.team_id, user_id=caller.user_id)
        await enqueue_now(runtime.services, home)
        runtime.drain_soon()


async def on_open_history(slack: Interaction, caller: Caller, runtime: Runtime) -> None:
    """App Home's History button: the same modal as `/licenses history`."""
    await slack.ack()
    admin = await caller.admin()
    if admin is None:
        view = build_info_modal("License history", only_admins_text("see the history"))
    else:
        history = await account_history(runtime.services, admin.account_id)
        view = build_history_modal(history)
    await slack.open_modal(view)


async def on_history_page(
    slack: Interaction, caller: Caller, runtime: Runtime, page: HistoryPage
) -> None:
    """Older / Newer in the history modal: the same modal, another page of the caller's own
    account (the button names only the page)."""
    await slack.ack()
    admin = await caller.admin()
    if admin is None:
        view = build_info_modal("License history", only_admins_text("see the history"))
    else:
        history = await account_history(runtime.services, admin.account_id, offset=page.offset)
        view = build_history_modal(history)
    await slack.update_modal(view)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(listener(on_home_opened))
    app.action(Action.OPEN_HISTORY)(listener(on_open_history))
    for page in (Action.HISTORY_OLDER, Action.HISTORY_NEWER):
        app.action(page)(listener(on_history_page))
