"""The sandbox as a distributed app: Hooli's Add to Slack from the page, and restarts."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp

from bot.oauth import INSTALL_PATH
from bot.sandbox import installing
from bot.sandbox.runner import TOKEN_KEY_FILE, Sandbox
from tests.sandbox.page_client import (
    PageClient,
    channel_named,
    command,
    eventually,
    last_reply,
    link_hooli,
    page_on,
    post,
    state,
    top_modal,
)


async def add_to_slack(client: PageClient, box: Sandbox, user: str) -> tuple[int, str]:
    """The page's Add to Slack, clicked by `user`, in a browser: the bot's install page, Slack's
    authorize page (Allow), then the bot's redirect; returns the page the browser lands on.
    """
    clicked = await client.get("/add-to-slack", params={"user": user}, allow_redirects=False)
    assert clicked.status == 302
    assert clicked.headers["Location"] == f"{box.bot_url}{INSTALL_PATH}"
    async with aiohttp.ClientSession(cookie_jar=installing.cookie_jar()) as browser:
        authorize = await installing.start_install(browser, box.bot_url)
        async with browser.get(authorize) as asked:
            assert "Install licensebot to Hooli" in await asked.text()
        return await installing.allow(browser, authorize)


async def test_hooli_installs_from_the_page_then_links_with_a_csms_code(tmp_path: Path) -> None:
    async with page_on(tmp_path) as (box, client):
        before = await state(client, "U0HANA")
        assert before["workspace"]["installed"] is False
        # No licensebot in the sidebar: no DM with it, no App Home.
        assert [c["name"] for c in before["conversations"]] == ["general"]
        general = channel_named(before, "general")
        commands = len(box.slack.calls)
        typed = await post(client, "/api/command", user="U0HANA", text="/licenses", channel=general)
        assert typed["not_installed"] and "licensebot isn't installed" in typed["error"]
        assert len(box.slack.calls) == commands  # nothing reached the bot, which said nothing
        home = await post(client, "/api/home", user="U0HANA")
        assert home["http_status"] == 400

        status, landed = await add_to_slack(client, box, "U0HANA")
        assert status == 200 and "licensebot is installed in Hooli" in landed
        after = await state(client, "U0HANA")
        assert after["workspace"]["installed"] is True
        assert {c["name"] for c in after["conversations"]} == {"general", "licensebot"}
        # Not linked yet: /licenses says how.
        told = await last_reply(client, box, "U0HANA", "/licenses", general)
        assert "not linked to a licensing account yet" in told

        await link_hooli(client, box)
        await command(client, "U0HANA", "/licenses", general)
        plan = await eventually(client, box, "U0HANA", lambda s: bool(s["modals"]))
        assert "Hooli" in str(top_modal(plan)["blocks"])


async def test_a_restart_on_the_same_data_keeps_the_data_and_the_installs(tmp_path: Path) -> None:
    async with page_on(tmp_path) as (box, client):
        status, _ = await add_to_slack(client, box, "U0HANA")
        assert status == 200
        await link_hooli(client, box)
    key_file = tmp_path / TOKEN_KEY_FILE
    key = key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    async with page_on(tmp_path) as (box, client):
        assert key_file.read_text() == key
        # A new fake Slack: every workspace installed before is installed again, Hooli too.
        assert all(box.installed(team_id) for team_id in box.teams)
        hana = await state(client, "U0HANA")
        general = channel_named(hana, "general")
        await command(client, "U0HANA", "/licenses", general)
        plan = await eventually(client, box, "U0HANA", lambda s: bool(s["modals"]))
        assert "Hooli" in str(top_modal(plan)["blocks"])  # still linked: the data survived
        await command(client, "U0ANN", "/licenses", "C0GENERAL")
        acme = await eventually(client, box, "U0ANN", lambda s: bool(s["modals"]))
        assert "Acme Corp" in str(top_modal(acme)["blocks"])
