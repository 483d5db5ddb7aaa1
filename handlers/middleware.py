"""Listener middleware: each payload is parsed once, and listeners get typed arguments.

A listener names what it needs by type: `Caller` (who is asking, their access resolved
at most once and only when asked for), `Runtime`, a `ViewMetadata` (the modal's
private_metadata), a `ButtonValue` (the clicked button's value) or a `FormState` (what
was typed into the modal). Bolt's own arguments (ack, client, respond, body, …) are
passed by name as usual. A payload that does not parse raises `MalformedPayload`, which
the error handler turns into a sentence on the right surface.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from slack_bolt.kwargs_injection.async_args import AsyncArgs

from blocks.forms import FormState
from blocks.metadata import ButtonValue, ViewMetadata
from bot.bootstrap import Runtime
from bot.domain.errors import MalformedPayload, OnlyAdmins
from bot.readmodels import Access, Admin, SlackUser
from bot.seal import unseal
from bot.services.access import resolve_access
from handlers.errors import answer_error
from handlers.surfaces import (
    RESPONSE_SENT_KEY,
    RUNTIME_KEY,
    Interaction,
    enterprise_of,
    team_of,
    user_of,
)


class Caller:
    """Who sent this request, and what they may do (resolved once, when first asked)."""

    def __init__(self, runtime: Runtime, body: dict[str, Any], sent: asyncio.Event | None):
        self.team_id = team_of(body)
        self.user_id = user_of(body)
        self.enterprise_id = enterprise_of(body)
        self._runtime = runtime
        self._access: Access | None = None
        self._sent = sent

    @property
    def who(self) -> SlackUser:
        return SlackUser(self.user_id, self.team_id)

    async def access(self) -> Access:
        if self._access is None:
            runtime = self._runtime
            self._access = await resolve_access(
                runtime.services, runtime.directory, self.team_id, self.user_id
            )
        return self._access

    async def admin(self) -> Admin | None:
        """The caller as a license admin of this workspace's account; None for anyone else."""
        access = await self.access()
        if access.overview is None or access.identity is None:
            return None
        return Admin(access.overview, access.identity)

    async def admin_of(self, account_id: str, what: str) -> Admin:
        """The caller as an admin of `account_id`, the account a form or button names.

        OnlyAdmins when they are not (or no longer) one; MalformedPayload when their
        workspace belongs to another account than the one named.
        """
        admin = await self.admin()
        if admin is None:
            raise OnlyAdmins(what)
        if admin.account_id != account_id:
            raise MalformedPayload()
        return admin

    async def answered(self) -> None:
        """Wait until Slack has our ack: what we send later must not be covered by it."""
        if self._sent is not None:
            await self._sent.wait()


def _parse(model: type[BaseModel], args: AsyncArgs, seal_key: bytes) -> BaseModel:
    body = args.body or {}
    view = body.get("view") if isinstance(body.get("view"), dict) else None
    try:
        if issubclass(model, FormState):
            return model.from_view(view or {})
        action = args.action or {}
        if issubclass(model, ButtonValue) and isinstance(action.get("value"), str):
            return model.model_validate_json(action["value"])
        if issubclass(model, ViewMetadata) and view is not None:
            opened = unseal(str(view.get("private_metadata") or ""), seal_key)
            if opened is not None:
                return model.model_validate_json(opened)
    except (ValidationError, ValueError, TypeError, AttributeError):
        pass
    raise MalformedPayload()


def _argument(wanted: Any, name: str, args: AsyncArgs, runtime: Runtime) -> Any:
    """What a listener parameter named `name` and typed `wanted` receives."""
    body = args.body or {}
    if wanted is Interaction:
        return Interaction(body, args.ack, args.client, args.respond, runtime)
    if wanted is Caller:
        return Caller(runtime, body, args.context.get(RESPONSE_SENT_KEY))
    if wanted is Runtime:
        return runtime
    if isinstance(wanted, type) and issubclass(wanted, BaseModel):
        return _parse(wanted, args, runtime.settings.seal_key)
    return getattr(args, name)


def listener(func: Callable[..., Awaitable[None]]) -> Callable[[AsyncArgs], Awaitable[None]]:
    """Wrap `func` for Bolt: typed arguments in, its work tracked until it is done."""
    hints = typing.get_type_hints(func)
    names = list(inspect.signature(func).parameters)

    async def run(args: AsyncArgs) -> None:
        runtime: Runtime = args.context[RUNTIME_KEY]
        task = asyncio.current_task()
        if task is not None:
            runtime.work.track(task)
        given = {name: _argument(hints.get(name), name, args, runtime) for name in names}
        try:
            await func(**given)
        except Exception as error:
            if args.ack.response is None:
                raise  # Bolt hands it to the error handler, which answers in the ack
            # After the ack Bolt would forget the ack it sent; answer here, the same way.
            body = args.body or {}
            await answer_error(error, body, args.ack, args.client, args.respond, None, runtime)
        finally:
            for value in given.values():
                if isinstance(value, Interaction):
                    value.done()

    run.__name__ = run.__qualname__ = func.__name__
    return run
