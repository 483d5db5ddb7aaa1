"""The demo's people and accounts as the page shows them: who each person is, read from the
accounts as they are now; a workspace for every plan; and emoji drawn as Slack draws them.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import delete, select, update

from bot.models import Account, AccountAdmin
from bot.sandbox.demo import DEMO_USERS, NOT_YET_INSTALLED, TEAMS, demo_accounts
from bot.sandbox.runner import Sandbox
from bot.sandbox.web import STATIC_DIR
from tests.sandbox.page_client import (
    PageClient,
    channel_named,
    command,
    eventually,
    page_on,
    post,
    state,
    top_modal,
)

ROOT = Path(__file__).resolve().parents[2]
EMOJI_DIR = STATIC_DIR / "emoji"
# Between colons in the bot's texts without being emoji: SQLite's in-memory database.
NOT_EMOJI = frozenset({"memory"})


def person(seen: dict[str, object], user_id: str) -> dict[str, str]:
    [found] = [u for u in seen["users"] if u["id"] == user_id]  # type: ignore[attr-defined]
    return dict(found)


async def order(client: PageClient, box: Sandbox, user: str, count: int) -> None:
    """`user` orders `count` licenses in the add modal, as the page does it."""
    general = channel_named(await state(client, user), "general")
    await command(client, user, "/licenses add", general)
    view = top_modal(await eventually(client, box, user, lambda s: bool(s["modals"])))
    typed = await post(
        client,
        "/api/type",
        user=user,
        view_id=view["id"],
        block_id="add_count",
        action_id="add_count_input",
        value=str(count),
    )
    assert typed["status"] == 200, typed
    values = {"add_count": {"add_count_input": {"type": "number_input", "value": str(count)}}}
    answer = await post(client, "/api/submit", user=user, view_id=view["id"], values=values)
    assert answer["status"] == 200, answer
    placed = await eventually(client, box, user, lambda s: bool(s["modals"]))
    assert top_modal(placed)["title"]["text"] == "Order placed", top_modal(placed)
    await post(client, "/api/close", user=user)


async def test_the_switcher_says_what_the_database_says_after_orders_and_restarts(
    tmp_path: Path,
) -> None:
    async with page_on(tmp_path) as (box, client):
        gil = person(await state(client, "U0GIL"), "U0GIL")
        assert gil["role"] == "admin · Enterprise, 3 licenses"
        assert gil["about"] == "admin of Globex (Enterprise, annual, 3 licenses)"
        await order(client, box, "U0GIL", 2)
        # Anyone's state, read after the order, says it: the switcher lists everyone.
        gil = person(await state(client, "U0ANN"), "U0GIL")
        assert gil["role"] == "admin · Enterprise, 5 licenses"

    async with page_on(tmp_path) as (box, client):
        seen = await state(client, "U0GIL")
        assert person(seen, "U0GIL") == {
            "id": "U0GIL",
            "name": "Gil",
            "team": "T0GLOBEX",
            "role": "admin · Enterprise, 5 licenses",
            "about": "admin of Globex (Enterprise, annual, 5 licenses)",
        }
        # A change made outside the page (an accounts import, the CLI) shows at the next read.
        async with box.runtime.services.sessions() as session, session.begin():
            await session.execute(
                update(Account).where(Account.id == "acme").values(plan="essential", licenses=1)
            )
        seen = await state(client, "U0BOB")
        assert person(seen, "U0ANN")["role"] == "admin · Essential, 1 license"
        assert person(seen, "U0BOB")["role"] == "member · Essential, 1 license"
        assert person(seen, "U0BOB")["about"] == (
            "member of Acme Corp, not an admin (Essential, monthly, 1 license)"
        )
        assert person(seen, "U0ERIN")["about"] == (
            "admin of Acme Corp, listed by email (Essential, monthly, 1 license)"
        )
        # Where no account is linked, the demo's own words.
        assert person(seen, "U0HANA")["role"] == "admin of Hooli, not linked yet"
        assert person(seen, "U0CSM")["role"] == "Customer Success Manager"


async def test_there_is_a_freemium_and_an_essential_account_to_try(tmp_path: Path) -> None:
    accounts = {entry["id"]: entry for entry in demo_accounts()["accounts"]}
    async with page_on(tmp_path) as (box, client):
        for account_id, plan, user, label in (
            ("soylent", "Freemium", "U0SOL", "admin · Freemium, 3 licenses"),
            ("vandelay", "Essential", "U0VAL", "admin · Essential, 5 licenses"),
        ):
            entry = accounts[account_id]
            assert entry["plan"] == plan.lower()
            team_id = entry["slack_team_id"]
            assert team_id not in NOT_YET_INSTALLED
            seen = await state(client, user)
            # Its own workspace, installed, with one person: its admin.
            assert seen["workspace"] == {
                "id": team_id,
                "name": TEAMS[team_id],
                "installed": True,
                "users": [user],
            }
            assert entry["admins"] == [user]
            assert person(seen, user)["role"] == label
            await command(client, user, "/licenses", channel_named(seen, "general"))
            shown = await eventually(client, box, user, lambda s: bool(s["modals"]))
            blocks = str(top_modal(shown)["blocks"])
            assert entry["name"] in blocks and plan in blocks
        # Orders work on both: free on Freemium.
        await order(client, box, "U0SOL", 2)
        await order(client, box, "U0VAL", 2)
        seen = await state(client, "U0SOL")
        assert person(seen, "U0SOL")["role"] == "admin · Freemium, 5 licenses"
        assert person(seen, "U0VAL")["role"] == "admin · Essential, 7 licenses"


def test_every_linked_demo_account_has_a_workspace_and_an_admin_to_be() -> None:
    users = {user.user_id: user for user in DEMO_USERS}
    for entry in demo_accounts()["accounts"]:
        team_id = entry.get("slack_team_id")
        if team_id is None:
            continue  # Hooli: linked from the page
        assert team_id in TEAMS, entry["id"]
        admins = [users[a] for a in entry["admins"] if a in users]
        assert admins and all(user.team_id == team_id for user in admins), entry["id"]


async def test_an_older_data_folder_gets_the_demo_accounts_added_since(tmp_path: Path) -> None:
    async with page_on(tmp_path) as (box, client):
        await order(client, box, "U0GIL", 1)
        # As a data folder made before Soylent and Vandelay were demo accounts.
        async with box.runtime.services.sessions() as session, session.begin():
            gone = ["soylent", "vandelay"]
            await session.execute(delete(AccountAdmin).where(AccountAdmin.account_id.in_(gone)))
            await session.execute(delete(Account).where(Account.id.in_(gone)))

    async with page_on(tmp_path) as (box, client):
        async with box.runtime.services.reading() as session:
            rows = await session.execute(select(Account.id, Account.licenses))
            licenses = dict(rows.tuples().all())
        assert set(licenses) == {entry["id"] for entry in demo_accounts()["accounts"]}
        assert licenses["globex"] == 4  # what was done before is kept
        assert person(await state(client, "U0SOL"), "U0SOL")["role"].startswith("admin · Freemium")


def shortcodes_in_the_bot() -> set[str]:
    """Every `:name:` in the texts of the bot's code (not the sandbox's)."""
    found: set[str] = set()
    for folder in ("blocks", "handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:
                continue
            found |= set(re.findall(r":([a-z][a-z0-9_+-]*):", path.read_text(encoding="utf-8")))
    return found - NOT_EMOJI


def emoji_in_the_page() -> set[str]:
    """The names app.js draws as images."""
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    table = re.search(r"const EMOJI = \{(.*?)\};", script, re.S)
    assert table, "app.js has no EMOJI table"
    return set(re.findall(r"([a-z0-9_+-]+): \"", table.group(1)))


def test_every_emoji_the_bot_sends_is_drawn_from_an_image_of_the_page() -> None:
    drawn = emoji_in_the_page()
    assert {"white_check_mark", "warning", "x"} <= drawn
    missing = shortcodes_in_the_bot() - drawn
    assert not missing, f"add these to EMOJI in app.js, with an SVG in {EMOJI_DIR}: {missing}"
    images = {path.stem for path in EMOJI_DIR.glob("*.svg")}
    assert drawn == images


async def test_emoji_images_are_served_as_svg(tmp_path: Path) -> None:
    async with page_on(tmp_path) as (_box, client):
        for name in sorted(emoji_in_the_page()):
            image = await client.get(f"/static/emoji/{name}.svg")
            assert image.status == 200, name
            assert image.headers["Content-Type"] == "image/svg+xml", name
            assert (await image.text()).startswith("<svg xmlns=")
