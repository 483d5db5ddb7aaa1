"""Block Kit validation for the fake Slack Web API: slack-sdk's models plus Slack's surface rules.

Slack refuses an invalid view or message outright, so the fake Web API refuses what Slack
would, and describes each problem the way Slack does (`message [json-pointer:/blocks/0/text]`).
Two sources, both runtime dependencies only:

- slack-sdk's own models (`View`, `Block.parse` and the elements and text objects they
  parse) and their validators: unknown block and element types, required fields, lengths
  (titles, texts, labels, ids, options) and item counts per block.
- The rules below, which Slack enforces and slack-sdk does not check: blocks per surface,
  unique block_ids and action_ids, plain_text where Slack allows nothing else, non-empty
  texts, a submit button on modals with inputs, number_input bounds, message-wide totals.

The tests add the strict Block Kit JSON schema on top (tests/blockkit_schema.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block, DividerBlock
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_MESSAGE_MARKDOWN_CHARS = 12_000
MAX_MESSAGE_TABLES = 1
MAX_MESSAGE_CHARTS = 2

# Where Slack accepts a plain_text object only: (the owner's type, the field).
_PLAIN_TEXT_ONLY = {
    ("modal", "title"),
    ("modal", "submit"),
    ("modal", "close"),
    ("header", "text"),
    ("input", "label"),
    ("input", "hint"),
    ("button", "text"),
}
# What the models raise on a malformed value (a missing field, a wrong type).
_MALFORMED = (TypeError, ValueError, KeyError, AttributeError, SlackObjectFormationError)


def validate_modal(view: Any, at: str = "") -> list[str]:
    """Problems with a modal as sent to views.open/push/update; `at` prefixes the pointers."""
    return _view_problems("modal", view, at)


def validate_home(view: Any, at: str = "") -> list[str]:
    """Problems with an App Home view as sent to views.publish."""
    return _view_problems("home", view, at)


def validate_message_blocks(blocks: Any, at: str = "/blocks") -> list[str]:
    """Problems with a message's `blocks` (chat.postMessage/postEphemeral/update, response_url)."""
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{at}]"]
    errors = _model_problems(blocks, at) + _block_rules(blocks, at, MAX_MESSAGE_BLOCKS)
    markdown = sum(
        len(b.get("text", ""))
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "markdown" and isinstance(b.get("text"), str)
    )
    if markdown > MAX_MESSAGE_MARKDOWN_CHARS:
        errors.append(
            f"markdown blocks exceed {MAX_MESSAGE_MARKDOWN_CHARS} characters in total [json-pointer:{at}]"
        )
    types = [b.get("type") for b in blocks if isinstance(b, dict)]
    if types.count("table") + types.count("data_table") > MAX_MESSAGE_TABLES:
        errors.append(f"only one table is allowed per message [json-pointer:{at}]")
    if types.count("data_visualization") > MAX_MESSAGE_CHARTS:
        errors.append(
            f"no more than {MAX_MESSAGE_CHARTS} data_visualization blocks per message [json-pointer:{at}]"
        )
    return list(dict.fromkeys(errors))


def _view_problems(kind: str, view: Any, at: str) -> list[str]:
    if not isinstance(view, dict):
        return [f"must be an object [json-pointer:{at}]"]
    if view.get("type") != kind:
        return [f"must be {kind!r} [json-pointer:{at}/type]"]
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{at}/blocks]"]
    errors = _model_problems(blocks, f"{at}/blocks")
    # The view's own fields. Its blocks were checked above, each with its pointer; stand-ins
    # take their place so that View still counts them.
    fields = {key: value for key, value in view.items() if key != "blocks"}
    try:
        model = View(**fields, blocks=[DividerBlock()] * len(blocks))
    except _MALFORMED as exc:
        errors.append(f"{_malformed(exc)} [json-pointer:{at}]")
    else:
        errors += _object_problems(model, view, at, skip="blocks")
    for key in ("title", "submit", "close"):
        errors += _plain_text_only(kind, key, view.get(key), f"{at}/{key}")
    if kind == "modal" and view.get("submit") is None and _has_input(blocks):
        errors.append(f"'submit' is required when a modal has input blocks [json-pointer:{at}]")
    errors += _block_rules(blocks, f"{at}/blocks", None)  # View counts them (100 at most)
    return list(dict.fromkeys(errors))


# --- slack-sdk's models -------------------------------------------------------------------


def _model_problems(blocks: list[Any], at: str) -> list[str]:
    """Each block parsed by slack-sdk, and every object in it checked by its validators."""
    errors: list[str] = []
    for index, raw in enumerate(blocks):
        here = f"{at}/{index}"
        if not isinstance(raw, dict):
            errors.append(f"must be an object [json-pointer:{here}]")
            continue
        try:
            block = Block.parse(raw)
        except _MALFORMED as exc:
            errors.append(f"{_malformed(exc)} [json-pointer:{here}]")
            continue
        if block is None:
            errors.append(f"{_unsupported(raw)} [json-pointer:{here}]")
            continue
        errors += _object_problems(block, raw, here)
    return errors


def _object_problems(model: JsonObject, raw: Any, at: str, skip: str = "") -> list[str]:
    """`model`'s failed validators, then its nested objects', pointing into `raw` (its JSON)."""
    errors = [f"{message} [json-pointer:{_field(message, raw, at)}]" for message in _failed(model)]
    source = raw if isinstance(raw, dict) else {}
    for name in sorted(model.attributes - {skip}):
        value, raw_value = getattr(model, name, None), source.get(name)
        if isinstance(value, JsonObject):
            errors += _object_problems(value, raw_value, f"{at}/{name}")
        elif isinstance(value, list | tuple) and isinstance(raw_value, list):
            for index, (item, raw_item) in enumerate(zip(value, raw_value, strict=False)):
                here = f"{at}/{name}/{index}"
                if isinstance(item, JsonObject):
                    errors += _object_problems(item, raw_item, here)
                elif item is None and isinstance(raw_item, dict):
                    errors.append(f"{_unsupported(raw_item)} [json-pointer:{here}]")
        elif value is None and isinstance(raw_value, dict) and raw_value.get("type"):
            errors.append(f"{_unsupported(raw_value)} [json-pointer:{at}/{name}]")
    return errors


def _failed(model: JsonObject) -> list[str]:
    """The messages of every validator `model` fails (validate_json stops at the first)."""
    messages: list[str] = []
    for name in _validator_names(type(model)):
        try:
            getattr(model, name)()
        except SlackObjectFormationError as exc:
            messages.append(str(exc))
        except _MALFORMED as exc:  # a validator tripping over a value of the wrong type
            messages.append(_malformed(exc))
    return messages


@cache
def _validator_names(cls: type) -> tuple[str, ...]:
    return tuple(
        name
        for name in sorted(dir(cls))
        if not name.startswith("__") and getattr(getattr(cls, name, None), "validator", False)
    )


def _field(message: str, raw: Any, at: str) -> str:
    """slack-sdk's messages start with the field they are about: point at it when present."""
    first = message.split(" ", 1)[0]
    return f"{at}/{first}" if isinstance(raw, dict) and first in raw else at


def _unsupported(raw: dict[str, Any]) -> str:
    kind = raw.get("type")
    return f"unsupported type {kind!r}" if kind else "'type' is a required property"


_MISSING = re.compile(r"missing \d+ required (?:keyword-only |positional )?arguments?: (.+)")


def _malformed(exc: BaseException) -> str:
    """A model's constructor refusing the JSON, in words about the JSON."""
    missing = _MISSING.search(str(exc))
    if missing:
        names = re.findall(r"'([^']+)'", missing.group(1))
        return "; ".join(f"{name!r} is a required property" for name in names)
    if isinstance(exc, KeyError):
        return f"{exc} is a required property"
    return f"invalid value: {exc}"


# --- Slack's rules that slack-sdk does not check --------------------------------------------


def _block_rules(blocks: list[Any], at: str, max_blocks: int | None) -> list[str]:
    """Block count, unique ids, plain_text-only fields, non-empty texts, number bounds."""
    errors: list[str] = []
    if max_blocks is not None and len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:{at}]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        here = f"{at}/{index}"
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{here}/block_id]")
            block_ids.add(block_id)
        action_ids: set[str] = set()
        for path, node in _objects(block, here):
            kind = node.get("type")
            action_id = node.get("action_id")
            if isinstance(action_id, str):
                if action_id in action_ids:
                    errors.append(
                        f"duplicate action_id {action_id!r} in one block [json-pointer:{path}/action_id]"
                    )
                action_ids.add(action_id)
            if kind in ("plain_text", "mrkdwn") and node.get("text") == "":
                errors.append(f"must not be empty [json-pointer:{path}/text]")
            for key, value in node.items():
                errors += _plain_text_only(kind, key, value, f"{path}/{key}")
            if kind == "number_input":
                errors += _number_bounds(node, path)
    return errors


def _objects(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in a block, the block included, with its pointer."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{path}/{index}")


def _plain_text_only(owner: Any, key: str, value: Any, path: str) -> list[str]:
    if (owner, key) not in _PLAIN_TEXT_ONLY and key != "placeholder":
        return []
    if isinstance(value, dict) and value.get("type") not in (None, "plain_text"):
        return [f"must be 'plain_text' [json-pointer:{path}/type]"]
    return []


def _has_input(blocks: list[Any]) -> bool:
    return any(isinstance(block, dict) and block.get("type") == "input" for block in blocks)


def _number_bounds(element: dict[str, Any], path: str) -> list[str]:
    low, high = _decimal(element.get("min_value")), _decimal(element.get("max_value"))
    if low is not None and high is not None and low > high:
        return [f"min_value must not exceed max_value [json-pointer:{path}/min_value]"]
    initial = _decimal(element.get("initial_value"))
    if initial is not None and (
        (low is not None and initial < low) or (high is not None and initial > high)
    ):
        return [
            f"initial_value must lie within min_value and max_value [json-pointer:{path}/initial_value]"
        ]
    return []


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None
