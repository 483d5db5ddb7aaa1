"""The Stripe stand-in as a pytest fixture.

One instance per test session, so per xdist worker: tests create their own customers and
subscriptions, filter what they read by them, and clear the request log before asserting
on it.

Use it from a test module with `pytest_plugins = ("tests.stripe_fixtures",)`: a plain
import of the fixture works for pytest too, but ruff then calls every test argument of that
name a redefinition (F811).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stripe_stand_in import StripeStandIn


@pytest.fixture(scope="session")
def stripe_stand_in() -> Iterator[StripeStandIn]:
    with StripeStandIn() as stand_in:
        yield stand_in
