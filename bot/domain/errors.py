"""Typed failures a person can read: `str(error)` is the sentence; one handler per surface shows it."""

from __future__ import annotations

from bot.domain.policy import Decision
from bot.domain.pricing import Quote


class ServiceError(Exception):
    """A failure the user can read; `str(error)` is the sentence to show."""


class AccountNotFound(ServiceError):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"There is no account “{account_id}”.")
        self.account_id = account_id


class OnlyAdmins(ServiceError):
    """Someone who is not a license admin of this workspace's account tried to `what`."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Only license admins can {what}.")


class MalformedPayload(ServiceError):
    """What came back from Slack (metadata, a button's value, a form) does not parse."""

    def __init__(self) -> None:
        super().__init__(
            "This form or button is out of date. Close it and start again with `/licenses`."
        )


class TriggerExpired(ServiceError):
    """Slack gives 3 seconds to open a modal for a click or command; this one took longer."""

    def __init__(self) -> None:
        super().__init__("That took Slack too long to open. Please try again.")


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


class InvalidRemoval(ServiceError):
    """A removal request or decision is wrong; `field` says which input to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotACsm(ServiceError):
    def __init__(self) -> None:
        super().__init__("Only Customer Success Managers can approve or deny removal requests.")


class RemovalNotFound(ServiceError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"There is no removal request {request_id}.")
