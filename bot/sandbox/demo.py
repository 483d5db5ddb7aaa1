"""The demo workspace, defined once: its accounts, people and channels.

`licensebot sandbox` seeds it, and the tests run against the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.config import Settings

if TYPE_CHECKING:
    from bot.sandbox.fake_slack import FakeSlack

DEMO_ACCOUNTS_FILE = Path(__file__).parent / "demo_accounts.yml"
GENERAL, CSM_CHANNEL = "C0GENERAL", "C0CSM"
# The vendor's own workspace, where the CSMs and #csm-requests are.
VENDOR_TEAM = "T0VENDOR"
# Each customer's workspace; Hooli's is there but has not installed licensebot yet.
TEAMS = {
    VENDOR_TEAM: "Vendor",
    "T0ACME": "Acme",
    "T0GLOBEX": "Globex",
    "T0INITECH": "Initech",
    "T0UMBRELLA": "Umbrella",
    "T0SOYLENT": "Soylent",
    "T0VANDELAY": "Vandelay",
    "T0HOOLI": "Hooli",
    "T0ELSEWHERE": "Elsewhere",
}
NOT_YET_INSTALLED = frozenset({"T0HOOLI"})
CSM_USER_IDS = "U0CSM,U0CSM2"
SALES_EMAIL = "sales@vendor.example"
SUPPORT_URL = "https://support.vendor.example"


@dataclass(frozen=True)
class DemoUser:
    """A person in the demo. `role` is what the page says of them while no account is linked
    to their workspace; where one is, the page says it from the account as it is now (admin
    or member, plan, licenses), and `note` is added to that.
    """

    user_id: str
    name: str
    email: str
    team_id: str
    role: str
    note: str = ""


DEMO_USERS = [
    DemoUser("U0ANN", "Ann", "ann@acme.example", "T0ACME", "admin of Acme Corp"),
    DemoUser("U0BOB", "Bob", "bob@acme.example", "T0ACME", "member of Acme Corp"),
    DemoUser(
        "U0ERIN", "Erin", "Erin@Acme.example", "T0ACME", "admin of Acme Corp", "listed by email"
    ),
    DemoUser("U0GIL", "Gil", "gil@globex.example", "T0GLOBEX", "admin of Globex"),
    DemoUser("U0IRA", "Ira", "ira@initech.example", "T0INITECH", "admin of Initech"),
    DemoUser("U0UMA", "Uma", "uma@umbrella.example", "T0UMBRELLA", "admin of Umbrella"),
    DemoUser("U0SOL", "Sol", "sol@soylent.example", "T0SOYLENT", "admin of Soylent"),
    DemoUser("U0VAL", "Val", "val@vandelay.example", "T0VANDELAY", "admin of Vandelay Industries"),
    DemoUser("U0CSM", "Casey", "casey@vendor.example", VENDOR_TEAM, "Customer Success Manager"),
    DemoUser("U0CSM2", "Chris", "chris@vendor.example", VENDOR_TEAM, "Customer Success Manager"),
    DemoUser("U0HANA", "Hana", "hana@hooli.example", "T0HOOLI", "admin of Hooli, not linked yet"),
    DemoUser("U0NOBODY", "Nobody", "nobody@else.example", "T0ELSEWHERE", "no account linked here"),
]


def demo_accounts() -> dict[str, Any]:
    """The demo accounts file, as `accounts import` reads it."""
    data: dict[str, Any] = yaml.safe_load(DEMO_ACCOUNTS_FILE.read_text(encoding="utf-8"))
    return data


def furnish(slack: FakeSlack) -> None:
    """The demo workspaces, people and channels in a fake Slack."""
    for team_id, name in TEAMS.items():
        slack.add_team(team_id, name)
    for user in DEMO_USERS:
        slack.add_user(
            user.user_id,
            user.name.lower(),
            email=user.email,
            team_id=user.team_id,
            real_name=user.name,
        )
    slack.add_channel(GENERAL, "general", team_id="T0ACME")
    slack.add_channel(CSM_CHANNEL, "csm-requests", team_id=VENDOR_TEAM)


def demo_settings(
    database_url: str, slack: FakeSlack, signing_secret: str, **overrides: Any
) -> Settings:
    """Everything explicit: the demo never reads real credentials from the environment."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": signing_secret,
        "slack_app_token": None,
        "slack_api_url": slack.url,
        "csm_channel_id": CSM_CHANNEL,
        "vendor_team_id": VENDOR_TEAM,
        "csm_user_ids": CSM_USER_IDS,
        "sales_email": SALES_EMAIL,
        "support_url": SUPPORT_URL,
        "zendesk_url": None,
        "zendesk_email": None,
        "zendesk_api_token": None,
    }
    return Settings(_env_file=None, **{**values, **overrides})
