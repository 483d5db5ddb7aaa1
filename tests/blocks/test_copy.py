"""Copy every surface shares: plurals, dates, one word per thing, the Gong Edition routes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from blocks.add import build_add_modal_for
from blocks.ids import Action
from blocks.ids import Block as BlockId
from blocks.messages import admin_request_blocks, link_code_blocks, route_request_blocks
from blocks.metadata import AddModalState, AdminRequest
from blocks.removal import (
    already_decided_text,
    applied_reply,
    build_removal_message,
    decided_text,
    decision_reply,
)
from blocks.surfaces import plan_buttons
from blocks.text import billed, licenses
from blocks.tickets import removal_ticket, resolution_comment, route_ticket
from bot.domain.plans import BillingInterval
from bot.domain.removal import RemovalStatus
from bot.readmodels import AccountOverview
from tests import examples
from tests.periods import day
from tests.slack.driver import block_text as block_text_of

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_counts_are_singular_or_plural() -> None:
    assert (licenses(1), licenses(3), licenses(1000)) == (
        "1 license",
        "3 licenses",
        "1,000 licenses",
    )
    one_more = AdminRequest(account_id="acme", count=1)
    assert "asks to add 1 license to" in block_text_of(
        admin_request_blocks("U0B", "Acme", one_more)
    )
    one_asked = examples.add_request(wanted=1)
    posted = block_text_of(route_request_blocks(one_asked))
    assert "(Enterprise, 12 licenses) asks to add 1 license: $" in posted
    assert route_ticket(one_asked).subject == "Initech asks to add 1 license (LR-00001)"
    one = examples.removal(RemovalStatus.APPLIED, remove=1)
    assert applied_reply(one) == "Applied: 1 license removed; Acme Corp now has 9 licenses."
    assert removal_ticket(one).subject == "Remove 1 license from Acme Corp (RR-00001)"
    assert "license(s)" not in applied_reply(one) + removal_ticket(one).subject
    nine = examples.removal(RemovalStatus.APPROVED, remove=9)
    assert "from 10 to 1 license, effective" in decided_text(nine)


def test_billing_reads_billed_monthly_or_annually() -> None:
    assert billed(BillingInterval.MONTHLY) == "billed monthly"
    assert billed(BillingInterval.ANNUAL) == "billed annually"


def test_dates_are_the_medium_date_people_read_everywhere() -> None:
    approved = examples.removal(RemovalStatus.APPROVED)
    assert approved.effective_at is not None and approved.decided_at is not None
    assert f"effective {day(approved.effective_at)}." in decision_reply(approved)
    assert f"({day(approved.decided_at)}, " in already_decided_text(approved)
    ticket = removal_ticket(examples.removal())
    assert f"Timing: At the next renewal ({day(examples.ACME.period.end)})" in ticket.body
    for text in (decision_reply(approved), already_decided_text(approved), ticket.body):
        assert not ISO_DAY.search(text), text


def test_a_denial_reason_is_called_reason_everywhere() -> None:
    denied = examples.removal(RemovalStatus.DENIED, note="Committed until March.")
    message = block_text_of(build_removal_message(denied))
    assert "Reason: Committed until March." in message
    assert decision_reply(denied).endswith(" Reason: Committed until March.")
    assert resolution_comment(denied).endswith(" Reason: Committed until March.")
    assert "Note:" not in message + decision_reply(denied) + resolution_comment(denied)


def test_gong_edition_names_its_csm_or_sales_contact_and_offers_both() -> None:
    umbrella = examples.UMBRELLA
    reason = umbrella.capacity.reason
    assert reason.startswith(
        "Gong Edition accounts add licenses through their Customer Success Manager or Sales "
        "contact: contact your Customer Success Manager"
    )
    assert "Sales" in reason
    actions = [button["action_id"] for button in plan_buttons(umbrella)]
    assert actions[:2] == [Action.ASK_CSM, Action.CONTACT_SALES]
    # Enterprise beyond the self-serve limit still has its one route.
    initech = [button["action_id"] for button in plan_buttons(examples.INITECH)]
    assert Action.CONTACT_SALES not in initech


def test_a_link_code_expires_on_a_medium_date() -> None:
    expires = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    text = block_text_of(link_code_blocks("Acme Corp", "ABCD-EFGH", expires))
    assert "Works once, until Nov 30, 2026, 14:05 UTC, for an admin" in text
    assert not ISO_DAY.search(text)


def quote_read(account: AccountOverview, added: int, ttl: int | None) -> str:
    """The quote area of the add modal for `added`, built on examples.NOW (Nov 16, 09:30)."""
    state = AddModalState.new(account.account_id, "U0ANN", "T0ACME")
    modal = build_add_modal_for(
        examples.preview(account, added), state, added, quote_ttl_seconds=ttl
    )
    return block_text_of([b for b in modal["blocks"] if b.get("block_id") == BlockId.QUOTE])


def test_the_quote_says_the_days_left_what_follows_and_until_when_it_holds() -> None:
    # Nov 16, 09:30 of Nov 1 → Dec 1: 14 whole days and 14.5 hours left.
    assert (
        "*Total Due Today*\n$71.56\n"
        "3 × $49.00, prorated to Dec 1, 2026: 14 of 30 days left in this period\n"
        "then $637.00 a month from Dec 1, 2026\n"
        "(price valid until 09:45 UTC)"
    ) in quote_read(examples.ACME, 3, 900)
    annual = quote_read(examples.GLOBEX, 2, 900)
    assert "2 × $1,200.00, prorated to Jan 1, 2027: 45 of 365 days left in this period" in annual
    assert "then $6,000.00 a year from Jan 1, 2027" in annual
    # Without the setting (a caller that doesn't pass it) the line is left out, not guessed.
    assert "price valid until" not in quote_read(examples.ACME, 3, None)
    # Past midnight UTC the date is said as well.
    assert "(price valid until Nov 17, 2026, 09:30 UTC)" in quote_read(examples.ACME, 3, 86_400)


def test_a_request_to_the_csm_is_addressed_to_them_with_what_and_how_much() -> None:
    """The CSM reads who asked, for which account, how many and the price; never a line
    telling them to contact their own Customer Success Manager."""
    request = examples.add_request(examples.INITECH, 2)
    # Nov 16, 09:30 of Mar 1, 2026 → Mar 1, 2027: 2 × $1,100.00 × the part of the year left.
    posted = block_text_of(route_request_blocks(request))
    assert (
        ":inbox_tray: <@U0CSM>, <@U0IRA> of *Initech* (Enterprise, 12 licenses) asks to add "
        "2 licenses: $630.49 due today, then $15,400.00 per year."
    ) in posted
    assert "Reference `LR-00001`" in posted
    assert "2 × $1,100.00, prorated to Mar 1, 2027 (104 of 365 days left)" in posted
    assert "contact your Customer Success Manager" not in posted
    assert "Casey Doe" not in posted
    # With no number, still the price per license, and still "more licenses".
    unsaid = block_text_of(route_request_blocks(examples.add_request(wanted=None)))
    assert "asks for more licenses (no number given; $1,100.00 per license per year)." in unsaid
