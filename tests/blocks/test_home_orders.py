"""App Home's order lines say what became of each order, not only what was asked."""

from __future__ import annotations

import dataclasses

from blocks.home import order_line
from tests import examples


def test_a_paid_order_shows_the_licenses_it_added_and_its_charge() -> None:
    line = order_line(examples.receipt(3))
    assert "+3 (10 → 13)" in line
    assert "declined" not in line and "being charged" not in line


def test_a_declined_order_shows_that_nothing_changed() -> None:
    failed = dataclasses.replace(
        examples.receipt(3), status="failed", failure_message="Your card was declined."
    )
    line = order_line(failed)
    assert "+3 · payment declined, nothing charged" in line
    assert "→" not in line


def test_an_order_being_charged_says_so() -> None:
    pending = dataclasses.replace(examples.receipt(3), status="pending")
    line = order_line(pending)
    assert "being charged" in line
    assert "→" not in line
