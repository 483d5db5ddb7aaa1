"""What listeners get from the Bolt context: services, the Slack directory, settings, effects."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.effects import Effects
from bot.integrations.slack_directory import Directory
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)


@dataclass
class AppDeps:
    services: ServiceContext
    directory: Directory
    settings: Settings
    effects: Effects
    client: AsyncWebClient
    _running: set[asyncio.Task[Any]] = field(default_factory=set)

    def run_effects_soon(self) -> None:
        """Carry out what a user action queued, without holding up the listener."""
        task = asyncio.ensure_future(self._drain())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _drain(self) -> None:
        try:
            await self.effects.drain()
        except Exception:
            # The scheduler retries whatever is left in the outbox.
            log.exception("draining the outbox failed")

    async def settle(self) -> None:
        """Wait for background work (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        if self.client.session is not None and not self.client.session.closed:
            await self.client.session.close()


def deps_of(context: dict[str, Any]) -> AppDeps:
    deps: AppDeps = context["deps"]
    return deps
