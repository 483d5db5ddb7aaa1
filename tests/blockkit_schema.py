"""The strict Block Kit JSON schema, for the tests only (third-party test data, not the product).

`../shared/slack/block-kit.schema.json` beside the repo, or the file `BLOCK_KIT_SCHEMA` names
(see ../shared/slack/README.md). The product checks Block Kit with slack-sdk's models and
its own rules (bot/sandbox/blockkit.py); the tests also hold every surface the bot sends
to this schema, which is stricter: it knows every field of every block and element.

Without the file, tests that need it skip and say why; in CI (`CI` set) they fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PATH = REPO.parent / "shared" / "slack" / "block-kit.schema.json"

_WRAPPED = {"modal": "modal_view", "home": "home_view"}


def schema_path() -> Path:
    """`BLOCK_KIT_SCHEMA` if set, else `../shared/slack/block-kit.schema.json` beside the repo."""
    override = os.environ.get("BLOCK_KIT_SCHEMA")
    return Path(override) if override else DEFAULT_PATH


def schema_available() -> bool:
    return schema_path().is_file()


def require_schema() -> None:
    """For tests that need the schema: skip without it, except in CI, where it must be there."""
    if schema_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must validate Block Kit: {schema_path()} is missing")
    pytest.skip(
        f"Block Kit schema not found at {schema_path()} "
        "(set BLOCK_KIT_SCHEMA to its path; in CI this is an error)"
    )


def schema_errors(
    surface: str, instance: Any, at: str = "", *, path: Path | None = None
) -> list[str]:
    """What the schema finds wrong with a surface: "modal", "home" or "message" (its blocks).

    Messages look like Slack's (`must be at most 24 characters [json-pointer:/view/title/text]`),
    `at` prefixing the pointers; `path` is the schema file, schema_path() by default. With
    `path` fixed, this is the check tests/conftest.py adds to every FakeSlack.
    """
    validator = _validator(str(path or schema_path()), surface)
    found = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    problems = dict.fromkeys(problem for error in found for problem in _causes(error))
    return [f"{message} [json-pointer:{at}{pointer}]" for pointer, message in problems]


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
