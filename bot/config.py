"""Settings from the environment (and a `.env` file); secrets never have defaults."""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.policy import DEFAULT_MAX_PER_ORDER, Contacts


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./licensebot.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # OAuth (multi-workspace) mode: on when both the client id and secret are set.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_oauth_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    vendor_team_id: str | None = None
    token_encryption_key: SecretStr | None = None
    csm_channel_id: str | None = None
    csm_user_ids: str = ""
    # Where removal requests nobody decided are escalated (vendor workspace); unset: a DM
    # to each of CSM_USER_IDS.
    escalation_channel_id: str | None = None
    sales_email: str | None = None
    support_url: str | None = None
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    # ledger: charges booked in our own database; stripe: charged through Stripe.
    billing_provider: Literal["ledger", "stripe"] = "ledger"
    stripe_api_key: SecretStr | None = None
    stripe_api_url: str = "https://api.stripe.com"
    stripe_webhook_secret: SecretStr | None = None
    quote_ttl_seconds: int = Field(default=900, ge=1)
    max_licenses_per_order: int = Field(default=DEFAULT_MAX_PER_ORDER, ge=1)
    # Between a removal request and its first reminder, between reminders (3 at most), and
    # between the last reminder and the escalation.
    removal_reminder_hours: float = Field(default=24, gt=0)
    port: int = 3000

    @field_validator(
        "csm_channel_id",
        "escalation_channel_id",
        "slack_client_id",
        "vendor_team_id",
        "sales_email",
        "support_url",
        "zendesk_url",
        "zendesk_email",
        "stripe_api_key",
        "stripe_webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("billing_provider", mode="before")
    @classmethod
    def _provider_name(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or "ledger"
        return value

    @cached_property
    def seal_key(self) -> bytes:
        """The key that seals view metadata, derived from the app's own secrets.

        Every instance of one deployment derives the same key; without any secret (a
        misconfiguration `serve` refuses anyway) it is random, so seals last one process.
        """
        for secret in (self.slack_signing_secret, self.slack_app_token, self.slack_bot_token):
            if secret is not None and secret.get_secret_value():
                material = secret.get_secret_value().encode()
                return hashlib.sha256(b"licensebot view metadata\0" + material).digest()
        return os.urandom(32)

    @property
    def oauth_mode(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @cached_property
    def csm_user_id_set(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.csm_user_ids.split(",") if part.strip())

    def contacts(self, csm_name: str | None = None, csm_email: str | None = None) -> Contacts:
        return Contacts(
            csm_name=csm_name,
            csm_email=csm_email,
            sales_email=self.sales_email,
            support_url=self.support_url,
        )
