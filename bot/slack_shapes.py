"""The shapes of what Slack sends, checked before Bolt or a listener reads a field.

Only the fields Bolt and our listeners read are described, with the types Slack sends;
anything else may be there and is left alone. A signed body of another shape is refused
with 400: it is no request Slack would make, and nothing should act on it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)


def _web_address(value: str) -> str:
    parts = urlparse(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("not a web address")
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore")


Id = Annotated[str, Field(min_length=1, max_length=255)]


class _Team(_Shape):
    id: Id


class _User(_Shape):
    id: Id
    team_id: str | None = None


class _Channel(_Shape):
    id: Id


class _State(_Shape):
    values: dict[str, dict[str, dict[str, Any]]]


class _View(_Shape):
    id: str
    type: str
    callback_id: str | None = None
    private_metadata: str | None = None
    external_id: str | None = None
    hash: str | None = None
    team_id: str | None = None
    state: _State | None = None
    title: dict[str, Any] | None = None


class _Action(_Shape):
    action_id: str
    block_id: str | None = None
    type: str | None = None
    value: str | None = None
    action_ts: str | None = None


class _Interaction(_Shape):
    type: Literal["block_actions", "view_submission", "view_closed"]
    user: _User
    team: _Team | None = None
    enterprise: dict[str, Any] | None = None
    authorizations: list[dict[str, Any]] | None = None
    trigger_id: str | None = None
    response_url: WebAddress | None = None
    # Slack sends one per conversation picker in a modal; we have none (and Bolt fails on two).
    response_urls: list[dict[str, Any]] = Field(default_factory=list, max_length=1)
    view: _View | None = None
    actions: list[_Action] | None = None
    channel: _Channel | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _what_each_type_carries(self) -> _Interaction:
        if self.type == "block_actions" and not self.actions:
            raise ValueError("block_actions without an action")
        if self.type != "block_actions" and self.view is None:
            raise ValueError(f"{self.type} without a view")
        return self


class _Command(_Shape):
    command: str
    text: str = ""
    user_id: Id
    team_id: Id
    channel_id: Id
    trigger_id: str
    response_url: WebAddress


class _Event(_Shape):
    type: str
    user: Id | None = None
    tab: str | None = None
    view: dict[str, Any] | None = None


class _EventCallback(_Shape):
    type: Literal["event_callback"]
    team_id: Id
    event: _Event
    authorizations: list[dict[str, Any]] | None = None


class _UrlVerification(_Shape):
    type: Literal["url_verification"]
    challenge: str


def is_slack_shaped(data: dict[str, Any], content_type: str, raw: bytes) -> bool:
    """Whether a request, as Bolt parsed it (`data`), is one Slack sends us, in its shape.

    Checked on Bolt's own parse, so the body is parsed once.
    """
    try:
        if content_type.startswith("application/json"):
            model: type[_Shape] = (
                _UrlVerification if data.get("type") == "url_verification" else _EventCallback
            )
            model.model_validate(data)
            return True
        if raw.startswith(b"{"):
            return False  # Bolt reads a body that starts so as JSON; Slack never sends one
        if b"payload=" in raw:
            _Interaction.model_validate(data)
        elif data.get("ssl_check") != "1":
            _Command.model_validate(data)
        return True
    except (ValueError, AttributeError, ValidationError):
        return False
