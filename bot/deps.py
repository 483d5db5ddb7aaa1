"""What listeners get from the Bolt context: services, the Slack directory, settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.integrations.slack_directory import Directory
from bot.services.context import ServiceContext


@dataclass
class AppDeps:
    services: ServiceContext
    directory: Directory
    settings: Settings


def deps_of(context: dict[str, Any]) -> AppDeps:
    deps: AppDeps = context["deps"]
    return deps
