"""What every effect needs: the services, the Slack client, tickets and the directory."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.integrations.slack_directory import Directory
from bot.integrations.tickets import TicketProvider
from bot.readmodels import RemovalView
from bot.services.context import ServiceContext
from bot.services.outbox import RemovalEffect
from bot.services.removals import get_removal


class NotYet(Exception):
    """A step this entry depends on has not happened yet; try again later."""


@dataclass(frozen=True)
class EffectDeps:
    services: ServiceContext
    client: AsyncWebClient
    tickets: TicketProvider
    directory: Directory

    async def removal(self, effect: RemovalEffect) -> RemovalView:
        return await get_removal(self.services, effect.request_id)
