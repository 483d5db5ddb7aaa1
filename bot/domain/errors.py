"""Typed failures a person can read: `str(error)` is the sentence; one handler per surface shows it."""

from __future__ import annotations

from datetime import datetime

from bot.domain.linking import MAX_WRONG_CODES, utc_minute
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


class OrderPending(ServiceError):
    """The account has an order whose charge has not resolved: one order at a time."""

    def __init__(self, reference: str, added: int) -> None:
        seats = "1 license" if added == 1 else f"{added:,} licenses"
        super().__init__(
            f"An earlier order of {seats} for this account ({reference}) is still being "
            "charged, so this one was not placed. Nothing was charged for it. Order again "
            "once the earlier one completes; whoever placed it gets a direct message then."
        )
        self.reference = reference


class BillingNotSetUp(ServiceError):
    """The billing provider has no customer or subscription for this account."""

    def __init__(self, account_name: str) -> None:
        super().__init__(
            f"Billing isn't set up for {account_name} yet, so licenses can't be bought here. "
            "Nothing was charged. Please contact Support."
        )


class ImportFileError(ServiceError):
    pass


class InvalidRemoval(ServiceError):
    """A removal request or decision is wrong; `field` says which input to point at."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotACsm(ServiceError):
    def __init__(self, what: str = "removal requests") -> None:
        super().__init__(f"Only Customer Success Managers can approve or deny {what}.")


class DecidedInVendorWorkspace(ServiceError):
    def __init__(self, what: str = "removal requests") -> None:
        super().__init__(
            f"{what[:1].upper()}{what[1:]} are approved or denied by Customer Success Managers "
            "in the vendor's Slack workspace, not from this one. Nothing was changed."
        )


class RequestAlreadyDecided(ServiceError):
    """A request for more licenses was decided already: nothing is charged again."""

    def __init__(self, reference: str, status: str, decided_by: str | None) -> None:
        who = f" by <@{decided_by}>" if decided_by else ""
        super().__init__(f"Request {reference} was already {status}{who}. Nothing was changed.")


class AddRequestNotFound(ServiceError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"There is no request for more licenses {request_id}.")


class RemovalNotFound(ServiceError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"There is no removal request {request_id}.")


# --- linking a customer workspace to its account -------------------------------------

ASK_FOR_A_NEW_CODE = "ask your Customer Success Manager for a new one"


class LinkInputError(ServiceError):
    """What was typed to link a workspace or to make a code can't be right; nothing changed."""


class WrongLinkCode(ServiceError):
    """An unknown, expired or used code: it counts against the workspace's tries."""

    def __init__(self, problem: str, locked_until: datetime | None) -> None:
        text = f"{problem}: check it, or {ASK_FOR_A_NEW_CODE}."
        if locked_until is not None:
            text += (
                f" That was the {MAX_WRONG_CODES}th wrong code this hour: this workspace can "
                f"try again after {utc_minute(locked_until)}."
            )
        super().__init__(text)
        self.locked_until = locked_until


class LinkTriesExhausted(ServiceError):
    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"Too many wrong link codes from this workspace: try again after {utc_minute(until)}."
        )
        self.until = until


class NotAnAdminToLink(ServiceError):
    """A valid code typed by someone who is not an admin of its account (the code stays valid)."""

    def __init__(self, account_name: str) -> None:
        super().__init__(
            f"Only an admin of {account_name} can link a Slack workspace to it: ask one of "
            f"them to type this command, or ask your Customer Success Manager to list you as "
            f"an admin."
        )


class WorkspaceAlreadyLinked(ServiceError):
    def __init__(self, account_name: str) -> None:
        super().__init__(
            f"This Slack workspace is already linked to {account_name}. To link it to "
            f"another account, ask your Customer Success Manager to unlink it first."
        )


class AccountLinkedElsewhere(ServiceError):
    """Said to a customer's admin: their account belongs to another workspace already."""

    def __init__(self, account_name: str) -> None:
        super().__init__(
            f"{account_name} is already linked to another Slack workspace. To move it here, "
            f"ask your Customer Success Manager to unlink it first, then {ASK_FOR_A_NEW_CODE}."
        )


class AccountAlreadyLinked(ServiceError):
    """Said to the vendor: no code is made for an account that has a workspace."""

    def __init__(self, account_id: str, team_id: str) -> None:
        super().__init__(
            f"Account “{account_id}” is already linked to Slack workspace {team_id}; unlink it "
            f"first (`licensebot accounts unlink {account_id}`)."
        )


class VendorWorkspaceNotLinkable(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            "This is the vendor's Slack workspace: it can't be linked to a customer account."
        )


class OnlyCsmsMakeCodes(ServiceError):
    def __init__(self, in_vendor_workspace: bool) -> None:
        if in_vendor_workspace:
            text = "Only Customer Success Managers can make link codes."
        else:
            text = (
                "Link codes are made by Customer Success Managers in the vendor's Slack "
                "workspace. To link this workspace, ask your Customer Success Manager for a "
                "code and type `/licenses link CODE`."
            )
        super().__init__(text)
