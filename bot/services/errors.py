"""Typed failures of the use-cases; the Slack error handler and the CLI turn them into text."""

from __future__ import annotations

from bot.domain.policy import Decision
from bot.domain.pricing import Quote


class ServiceError(Exception):
    """A failure the user can read; `str(error)` is the sentence to show."""


class AccountNotFound(ServiceError):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"There is no account “{account_id}”.")
        self.account_id = account_id


class NotAnAdmin(ServiceError):
    def __init__(self, account_name: str, admins: list[str]) -> None:
        listed = ", ".join(admins) if admins else "nobody yet"
        super().__init__(
            f"Only license admins of {account_name} can change licenses. Admins: {listed}."
        )
        self.admins = admins


class RefusedByRules(ServiceError):
    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


class QuoteNotHonoured(ServiceError):
    """The quote the admin saw expired or no longer matches; show `fresh` and ask again."""

    def __init__(self, fresh: Quote, why: str) -> None:
        super().__init__(why)
        self.fresh = fresh


class IdempotencyConflict(ServiceError):
    def __init__(self) -> None:
        super().__init__("This order reference was already used for a different order.")


class ImportFileError(ServiceError):
    pass
