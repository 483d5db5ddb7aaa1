"""What people typed into modals, read once from `view.state.values` into typed forms."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from blocks.ids import Action, Block, RemovalAction, RemovalBlock
from bot.domain.removal import Timing


class FormState(BaseModel):
    """A modal's inputs. FIELDS maps each field to (block_id, action_id, key in the state)."""

    model_config = ConfigDict(frozen=True)
    FIELDS: ClassVar[dict[str, tuple[str, str, str]]] = {}

    @field_validator("*", mode="before")
    @classmethod
    def _scalars_as_text(cls, value: object) -> object:
        # Slack sends inputs as strings; any other scalar is read as the text it shows,
        # so the usual "not a whole number" message answers it rather than a crash.
        if isinstance(value, bool | int | float):
            return str(value).lower() if isinstance(value, bool) else str(value)
        return value

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> FormState:
        values = (view.get("state") or {}).get("values") or {}
        found: dict[str, Any] = {}
        for name, (block, action, key) in cls.FIELDS.items():
            entry = (values.get(block) or {}).get(action) or {}
            value = entry.get(key)
            if key == "selected_option":
                value = (value or {}).get("value")
            if value is not None:
                found[name] = value
        return cls.model_validate(found)


class AddForm(FormState):
    FIELDS = {"count": (Block.ADD_COUNT, Action.ADD_COUNT, "value")}
    count: str | None = None


class RemovalForm(FormState):
    FIELDS = {
        "count": (RemovalBlock.COUNT, RemovalAction.COUNT, "value"),
        "reason": (RemovalBlock.REASON, RemovalAction.REASON, "value"),
        "timing": (RemovalBlock.TIMING, RemovalAction.TIMING, "selected_option"),
    }
    count: str | None = None
    reason: str = ""
    timing: Timing = Timing.RENEWAL


class DecisionForm(FormState):
    FIELDS = {
        "effective": (RemovalBlock.EFFECTIVE, RemovalAction.EFFECTIVE, "selected_date"),
        "note": (RemovalBlock.NOTE, RemovalAction.NOTE, "value"),
    }
    effective: str | None = None
    note: str | None = None


class AddDecisionForm(FormState):
    FIELDS = {
        "count": (Block.DECISION_COUNT, Action.DECISION_COUNT, "value"),
        "note": (Block.DECISION_NOTE, Action.DECISION_NOTE, "value"),
    }
    count: str | None = None
    note: str | None = None


# Which input a field's error points at, when a use-case refuses one.
FIELD_BLOCKS: dict[str, str] = {
    "count": RemovalBlock.COUNT,
    "reason": RemovalBlock.REASON,
    "note": RemovalBlock.NOTE,
    "effective": RemovalBlock.EFFECTIVE,
}
