"""Where a listener answers: the ack helpers, modals opened or pushed, ephemeral replies, DMs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.plan import build_info_modal
from bot.domain.errors import TriggerExpired
from bot.integrations.slack_errors import slack_error
from bot.seal import sealed_view
from bot.services.outbox import SendDm, enqueue_now

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

View = dict[str, Any]
# Where the Bolt context keeps the runtime, and the event the transport sets once Slack
# has been sent the response to a request.
RUNTIME_KEY = "runtime"
RESPONSE_SENT_KEY = "response_sent"
TRIGGER_ERRORS = {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}


class Interaction:
    """One request from Slack and the ways to answer it, on the surface it came from."""

    def __init__(
        self,
        body: dict[str, Any],
        ack: AsyncAck,
        client: AsyncWebClient,
        respond: AsyncRespond,
        runtime: Runtime,
    ) -> None:
        self.body = body
        self.client = client
        self._ack = ack
        self._respond = respond
        self._runtime = runtime
        self.user_id = user_of(body)
        self._working = False

    def sealed(self, view: View) -> View:
        return sealed_view(view, self._runtime.settings.seal_key)

    @property
    def view(self) -> View:
        """The modal or Home view the request came from (empty for commands, messages)."""
        view = self.body.get("view")
        return view if isinstance(view, dict) else {}

    # --- the ack: within 3 seconds, before any work that can wait ----------------------

    async def ack(self) -> None:
        await self._ack()
        await self._queue_for_work()

    async def ack_errors(self, block_id: str, text: str) -> None:
        """Refuse a modal submit: `text` under the input, and nothing changes."""
        await self._ack(response_action="errors", errors={block_id: text})

    async def ack_update(self, view: View) -> None:
        """Accept a modal submit by replacing the modal with `view`."""
        await self._ack(response_action="update", view=self.sealed(view))
        await self._queue_for_work()

    async def _queue_for_work(self) -> None:
        """After the ack, wait for a slot: under overload the work queues, acks don't."""
        if not self._working:
            await self._runtime.after_ack.acquire()
            self._working = True

    def done(self) -> None:
        """The listener finished: its slot goes to the next one waiting."""
        if self._working:
            self._working = False
            self._runtime.after_ack.release()

    # --- after the ack -----------------------------------------------------------------

    async def show_modal(self, view: View) -> None:
        """From inside a modal push on top of it (Back returns); from anywhere else open one."""
        pushed = self.view.get("type") == "modal"
        await self._open(self.client.views_push if pushed else self.client.views_open, view)

    async def open_modal(self, view: View) -> str:
        """A new modal (never pushed); returns its view id."""
        return await self._open(self.client.views_open, view)

    async def _open(self, method: Any, view: View) -> str:
        try:
            opened = await method(trigger_id=self.body.get("trigger_id"), view=self.sealed(view))
        except SlackApiError as exc:
            if slack_error(exc) in TRIGGER_ERRORS:
                # A replayed or late request: say so, it is no bug of ours.
                raise TriggerExpired() from None
            raise
        return str(opened["view"]["id"])

    async def update_modal(
        self,
        view: View,
        view_id: str | None = None,
        *,
        external_id: str | None = None,
        hash: str | None = None,
    ) -> None:
        """Replace a modal: one we opened (`view_id`, `external_id`), else the one clicked in."""
        target = (
            {"external_id": external_id} if external_id else {"view_id": view_id or self.view["id"]}
        )
        if hash:
            target["hash"] = hash
        await self.client.views_update(view=self.sealed(view), **target)

    async def reply(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """An ephemeral reply where a command was typed or a message button clicked."""
        if self.body.get("response_url"):
            await self._respond(text=text, blocks=blocks, response_type="ephemeral")
        else:
            await self.dm(text, blocks)

    async def replace_original(self, text: str) -> None:
        """Replace the ephemeral message whose button was clicked."""
        await self._respond(text=text, replace_original=True, response_type="ephemeral")

    async def tell(self, text: str) -> None:
        """Only the user sees it: ephemeral in the channel they are in, else by DM."""
        body = self.body
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        channel = channel or (body.get("container") or {}).get("channel_id")
        if channel and body.get("type") != "view_submission":
            await self.client.chat_postEphemeral(channel=channel, user=self.user_id, text=text)
        else:
            await self.dm(text)

    async def dm(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """By DM, through the outbox: a Slack outage delays it, never loses or repeats it."""
        runtime = self._runtime
        await enqueue_now(
            runtime.services,
            SendDm(team_id=team_of(self.body), user_id=self.user_id, text=text, blocks=blocks),
        )
        runtime.drain_soon()

    async def confirm(self, heading: str, text: str) -> None:
        """In the modal where the click happened, else by DM (App Home, messages)."""
        if self.view.get("type") == "modal":
            await self.update_modal(build_info_modal(heading, text))
        else:
            await self.dm(text)


def enterprise_of(body: dict[str, Any]) -> str | None:
    """The Enterprise Grid org of a request's workspace; None outside Grid."""
    enterprise = body.get("enterprise")
    if isinstance(enterprise, dict) and enterprise.get("id"):
        return str(enterprise["id"])
    found = body.get("enterprise_id")
    return str(found) if found else None


def team_of(body: dict[str, Any]) -> str:
    """The workspace of a request, whatever its payload type."""
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    view = body.get("view")
    if isinstance(view, dict) and view.get("team_id"):
        return str(view["team_id"])
    event = body.get("event")
    if isinstance(event, dict) and isinstance(event.get("view"), dict):
        return str(event["view"].get("team_id") or body.get("team_id") or "")
    return str(body.get("team_id") or "")


def user_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id", ""))
    event = body.get("event")
    return str(body.get("user_id") or (event.get("user") if isinstance(event, dict) else "") or "")
