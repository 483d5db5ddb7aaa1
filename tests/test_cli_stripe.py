"""`accounts import` and `accounts sync` with BILLING_PROVIDER=stripe, against the stand-in."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accounts import account
from tests.stripe_stand_in import StripeStandIn
from tests.test_cli import assert_one_line_error, licensebot, write_accounts

pytest_plugins = ("tests.stripe_fixtures",)


def stripe_env(stand_in: StripeStandIn) -> dict[str, str]:
    return {
        "BILLING_PROVIDER": "stripe",
        "STRIPE_API_KEY": stand_in.api_key,
        "STRIPE_API_URL": stand_in.url,
    }


def billed_acme(stand_in: StripeStandIn, **overrides: Any) -> tuple[dict[str, Any], str]:
    """Acme (Pro, monthly, 10 × $49.00) with a Stripe subscription that agrees."""
    customer = stand_in.customer()
    subscription, _ = stand_in.subscription(customer, unit_amount_minor=4900, quantity=10)
    entry = account(
        **{"stripe_customer": customer, "stripe_subscription": subscription, **overrides}
    )
    return entry, subscription


def show(workdir: Path, stand_in: StripeStandIn) -> dict[str, Any]:
    result = licensebot(
        workdir, "accounts", "show", "acme", "--json", extra_env=stripe_env(stand_in)
    )
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_import_accepts_a_subscription_that_agrees(
    stripe_stand_in: StripeStandIn, tmp_path: Path
) -> None:
    entry, _ = billed_acme(stripe_stand_in)
    path = write_accounts(tmp_path / "accounts.yml", [entry])

    result = licensebot(
        tmp_path, "accounts", "import", str(path), extra_env=stripe_env(stripe_stand_in)
    )

    assert result.returncode == 0, result.stderr
    assert "1 created" in result.stdout


@pytest.mark.parametrize(
    ("field", "overrides", "said"),
    [
        ("licenses", {"licenses": 12}, "the file says 12, but Stripe subscription"),
        ("price_per_license", {"price_per_license": "59.00"}, "bills $49.00"),
        (
            "billing_interval",
            {"billing_interval": "annual", "price_per_license": "49.00"},
            "every month",
        ),
        ("currency", {"currency": "EUR", "price_per_license": "49.00"}, "bills USD"),
    ],
)
def test_import_refuses_a_subscription_that_disagrees_naming_the_field(
    stripe_stand_in: StripeStandIn,
    tmp_path: Path,
    field: str,
    overrides: dict[str, Any],
    said: str,
) -> None:
    entry, subscription = billed_acme(stripe_stand_in)
    path = write_accounts(tmp_path / "accounts.yml", [{**entry, **overrides}])

    result = licensebot(
        tmp_path, "accounts", "import", str(path), extra_env=stripe_env(stripe_stand_in)
    )

    assert_one_line_error(result)
    assert f"field '{field}'" in result.stderr
    assert said in result.stderr
    assert subscription in result.stderr
    assert "nothing was imported" in result.stderr
    missing = licensebot(
        tmp_path, "accounts", "show", "acme", extra_env=stripe_env(stripe_stand_in)
    )
    assert missing.returncode == 2


def test_import_refuses_a_subscription_stripe_does_not_know(
    stripe_stand_in: StripeStandIn, tmp_path: Path
) -> None:
    entry, _ = billed_acme(stripe_stand_in, stripe_subscription="sub_doesnotexist")
    path = write_accounts(tmp_path / "accounts.yml", [entry])

    result = licensebot(
        tmp_path, "accounts", "import", str(path), extra_env=stripe_env(stripe_stand_in)
    )

    assert_one_line_error(result)
    assert "field 'stripe_subscription'" in result.stderr


def test_sync_takes_stripes_values_with_an_audit_entry_each(
    stripe_stand_in: StripeStandIn, tmp_path: Path
) -> None:
    entry, subscription = billed_acme(stripe_stand_in)
    path = write_accounts(tmp_path / "accounts.yml", [entry])
    env = stripe_env(stripe_stand_in)
    assert licensebot(tmp_path, "accounts", "import", str(path), extra_env=env).returncode == 0
    # The subscription started today: its billing period is the account's from now on.
    first = licensebot(tmp_path, "accounts", "sync", "acme", extra_env=env)
    assert first.returncode == 0, first.stderr
    assert "billing period" in first.stdout and "licenses" not in first.stdout
    unchanged = licensebot(tmp_path, "accounts", "sync", "acme", extra_env=env)
    assert unchanged.returncode == 0, unchanged.stderr
    assert "already matches" in unchanged.stdout

    # A CSM changes the seats in Stripe's dashboard.
    item = httpx.get(
        f"{stripe_stand_in.url}/v1/subscriptions/{subscription}",
        auth=(stripe_stand_in.api_key, ""),
    ).json()["items"]["data"][0]["id"]
    httpx.post(
        f"{stripe_stand_in.url}/v1/subscription_items/{item}",
        data={"quantity": "14"},
        auth=(stripe_stand_in.api_key, ""),
        headers={"Idempotency-Key": f"dashboard-{item}"},
    ).raise_for_status()

    synced = licensebot(tmp_path, "accounts", "sync", "acme", extra_env=env)

    assert synced.returncode == 0, synced.stderr
    assert "licenses" in synced.stdout
    assert show(tmp_path, stripe_stand_in)["licenses"] == 14
    with closing(sqlite3.connect(tmp_path / "licensebot.db")) as db:
        rows = db.execute(
            "SELECT actor, detail FROM audit_log WHERE action = 'account.synced'"
        ).fetchall()
    details = [json.loads(detail) for _, detail in rows]
    licenses = [d for d in details if d["field"] == "licenses"]
    assert licenses == [
        {
            "field": "licenses",
            "before": 10,
            "after": 14,
            "source": f"Stripe subscription {subscription}",
        }
    ]


def test_sync_without_stripe_or_subscription_explains_itself(
    stripe_stand_in: StripeStandIn, tmp_path: Path
) -> None:
    path = write_accounts(tmp_path / "accounts.yml", [account()])
    assert licensebot(tmp_path, "accounts", "import", str(path)).returncode == 0

    ledger = licensebot(tmp_path, "accounts", "sync", "acme")
    assert_one_line_error(ledger)
    assert "BILLING_PROVIDER=stripe" in ledger.stderr

    no_subscription = licensebot(
        tmp_path, "accounts", "sync", "acme", extra_env=stripe_env(stripe_stand_in)
    )
    assert_one_line_error(no_subscription)
    assert "no stripe_subscription" in no_subscription.stderr

    no_key = licensebot(
        tmp_path, "accounts", "sync", "acme", extra_env={"BILLING_PROVIDER": "stripe"}
    )
    assert_one_line_error(no_key)
    assert "STRIPE_API_KEY" in no_key.stderr
