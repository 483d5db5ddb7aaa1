"""Block Kit validation: the shared JSON schema plus the surface rules it only documents.

Slack refuses an invalid view or message outright, so builder tests and the fake Web API
check the same rules here and describe problems the way Slack does
(`message [json-pointer:/blocks/0/text]`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
MAX_MESSAGE_MARKDOWN_CHARS = 12_000
MAX_MESSAGE_TABLES = 1
MAX_MESSAGE_CHARTS = 2

_WRAPPED = {"modal": "modal_view", "home": "home_view"}


def schema_path() -> Path:
    """`BLOCK_KIT_SCHEMA` if set, else `../shared/slack/block-kit.schema.json` beside the repo."""
    override = os.environ.get("BLOCK_KIT_SCHEMA")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "slack" / "block-kit.schema.json"


def schema_available() -> bool:
    return schema_path().is_file()


def validate_modal(view: dict[str, Any], at: str = "") -> list[str]:
    """Problems with a modal as sent to views.open/push/update; `at` prefixes the pointers."""
    return _schema_errors("modal", view, at) + _view_rules(view, at)


def validate_home(view: dict[str, Any], at: str = "") -> list[str]:
    """Problems with an App Home view as sent to views.publish."""
    return _schema_errors("home", view, at) + _view_rules(view, at)


def validate_message_blocks(blocks: list[Any], at: str = "/blocks") -> list[str]:
    """Problems with a message's `blocks` (chat.postMessage/postEphemeral/update, response_url)."""
    errors = _schema_errors("message", blocks, at)
    if not isinstance(blocks, list):
        return errors
    errors += _block_rules(blocks, at, MAX_MESSAGE_BLOCKS)
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
    return errors


# --- the schema -------------------------------------------------------------------------


@cache
def _validator(path: str, surface: str) -> Any:
    """One validator per schema file and surface, kept: building one is the slow part."""
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    if surface in _WRAPPED:
        schema = {"$ref": f"#/$defs/{_WRAPPED[surface]}", "$defs": schema["$defs"]}
    Draft202012Validator.check_schema(schema)
    return _discriminating(schema["$defs"])(schema)


def _discriminating(defs: dict[str, Any]) -> Any:
    """Draft 2020-12, with oneOf/anyOf skipping branches whose `type` const cannot match.

    Every block, element and text object is such a union; trying all ~20 branches made a
    modal take ~20 ms to check. A skipped branch could only have failed, so results are
    the same, minus the "wrong type" noise that `_causes` drops anyway.
    """

    def kind(branch: Any) -> Any:
        if isinstance(branch, dict) and str(branch.get("$ref", "")).startswith("#/$defs/"):
            branch = defs.get(branch["$ref"].removeprefix("#/$defs/"))
        if not isinstance(branch, dict):
            return None
        return branch.get("properties", {}).get("type", {}).get("const")

    def narrowed(keyword: Any) -> Any:
        def check(validator: Any, branches: Any, instance: Any, schema: Any) -> Any:
            wanted = instance.get("type") if isinstance(instance, dict) else None
            if isinstance(wanted, str):
                branches = [b for b in branches if kind(b) in (None, wanted)]
            return keyword(validator, branches, instance, schema)

        return check

    keywords = Draft202012Validator.VALIDATORS
    return validators.extend(
        Draft202012Validator,
        {name: narrowed(keywords[name]) for name in ("oneOf", "anyOf")},
    )


def _schema_errors(surface: str, instance: Any, at: str) -> list[str]:
    path = schema_path()
    if not path.is_file():
        return []
    validator = _validator(str(path), surface)
    found = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    problems = dict.fromkeys(problem for error in found for problem in _causes(error))
    return [f"{message} [json-pointer:{at}{pointer}]" for pointer, message in problems]


def _causes(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(pointer, message) of the errors worth reporting.

    A failed oneOf/anyOf (every block, element and text object is one) says only "not valid
    under any schema"; the useful errors are those of the branches whose `type` matched.
    """
    if error.validator not in ("oneOf", "anyOf") or "valid under each of" in error.message:
        yield _pointer(error), _describe(error)
        return
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    matching = [errs for errs in branches.values() if not any(map(_wrong_kind, errs))]
    subs = [sub for errs in matching for sub in errs]
    if not subs:
        kind = error.instance.get("type") if isinstance(error.instance, dict) else None
        message = f"unsupported type {kind!r}" if isinstance(kind, str) else _describe(error)
        yield _pointer(error), message
    elif len(matching) > 1 and all(not sub.relative_path for sub in subs):
        # e.g. a section with neither `text` nor `fields`: one message naming the choices.
        yield _pointer(error), " or ".join(dict.fromkeys(map(_describe, subs)))
    else:
        for sub in subs:
            yield from _causes(sub)


def _wrong_kind(error: ValidationError) -> bool:
    """True when a branch failed on its discriminator: a different `type`, or not an object."""
    if error.validator == "type" and not error.relative_path:
        return True
    return error.validator in ("const", "enum") and list(error.relative_path) == ["type"]


def _describe(error: ValidationError) -> str:
    """Short messages: jsonschema's own repeat the whole (possibly 3,000-char) instance."""
    value = error.validator_value
    match error.validator:
        case "maxLength":
            return f"must be at most {value} characters"
        case "minLength":
            return f"must be at least {value} characters" if value > 1 else "must not be empty"
        case "maxItems":
            return f"no more than {value} items allowed"
        case "minItems":
            return f"must have at least {value} items"
        case "const":
            return f"must be {value!r}"
        case "enum":
            return f"must be one of {', '.join(map(repr, value))}"
        case "type":
            return f"must be of type {value}"
        case "oneOf" | "anyOf":
            return "failed to match all allowed schemas"
        case _:
            message: str = error.message
            return message if len(message) <= 200 else message[:197] + "..."


def _pointer(error: ValidationError) -> str:
    return "".join(
        "/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path
    )


# --- rules the schema documents but cannot express --------------------------------------


def _view_rules(view: Any, at: str) -> list[str]:
    blocks = view.get("blocks") if isinstance(view, dict) else None
    if not isinstance(blocks, list):
        return []
    return _block_rules(blocks, f"{at}/blocks", MAX_VIEW_BLOCKS)


def _block_rules(blocks: list[Any], at: str, max_blocks: int) -> list[str]:
    """Block count, unique block_ids per surface, unique action_ids per block, number bounds."""
    errors: list[str] = []
    if len(blocks) > max_blocks:
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
        for path, element in _elements(block, here):
            action_id = element.get("action_id")
            if isinstance(action_id, str):
                if action_id in action_ids:
                    errors.append(
                        f"duplicate action_id {action_id!r} in one block [json-pointer:{path}/action_id]"
                    )
                action_ids.add(action_id)
            if element.get("type") == "number_input":
                errors += _number_bounds(element, path)
    return errors


def _elements(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object nested in a block that carries an action_id or is a number_input."""
    if isinstance(node, dict):
        if "action_id" in node or node.get("type") == "number_input":
            yield path, node
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _elements(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _elements(value, f"{path}/{index}")


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
