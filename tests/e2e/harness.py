"""The sandbox served on a free port and Debian's Chromium driving its page (no browser download)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Locator, Page, async_playwright, expect

from bot.sandbox.demo import DEMO_USERS, TEAMS
from bot.sandbox.runner import Sandbox, sandbox
from bot.sandbox.web import build_page_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1180, "height": 800}
MONEY = re.compile(r"\$[\d,]+\.\d{2}")


def require_chromium() -> None:
    """Browser tests need Debian's chromium: skipped without it, except in CI."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@asynccontextmanager
async def served(data_dir: Path) -> AsyncIterator[tuple[str, Sandbox]]:
    """`licensebot sandbox` in this process: the page's URL and the running sandbox.

    `data_dir` must exist; the sandbox's SQLite file is made in it.
    """
    async with sandbox(data_dir) as box:
        runner = web.AppRunner(build_page_app(box), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/", box
        finally:
            await runner.cleanup()


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Page]:
    """The page in headless Chromium, once its live updates are connected."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            await page.goto(url)
            await expect(page.get_by_test_id("live")).to_have_text("● live")
            yield page
        finally:
            await browser.close()


class SlackPage:
    """What a person does on the page, in their words; screenshots numbered in order."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.taken = 0

    @property
    def modal(self) -> Locator:
        return self.page.get_by_test_id("modal")

    @property
    def messages(self) -> Locator:
        return self.page.get_by_test_id("messages")

    async def in_workspace(self, name: str) -> None:
        """Switches to a workspace in the rail, by its name ("Acme")."""
        await self.page.get_by_test_id(f"workspace-{name.lower()}").click()
        await expect(self.page.get_by_test_id("workspace-name")).to_have_text(name)

    async def be(self, name: str) -> None:
        """Chooses who you are, by first name: their workspace, then them in the switcher."""
        [user] = [user for user in DEMO_USERS if user.name == name]
        await self.in_workspace(TEAMS[user.team_id])
        switcher = self.page.get_by_test_id("user-switcher")
        option = switcher.locator("option", has_text=re.compile(rf"^{name} "))
        await switcher.select_option(await option.get_attribute("value"))
        # Under the switcher: the option's whole label (its tooltip).
        about = await option.get_attribute("title")
        assert about, f"{name}'s option has no tooltip"
        await expect(self.page.get_by_test_id("user-role")).to_have_text(about)

    async def go(self, test_id: str) -> None:
        """Opens a channel (`channel-general`), the bot's DM (`nav-dm`) or App Home (`nav-home`)."""
        await self.page.get_by_test_id(test_id).click()
        await expect(self.page.get_by_test_id(test_id)).to_have_class(re.compile(r"\bactive\b"))

    async def command(self, text: str) -> None:
        composer = self.page.get_by_test_id("composer")
        await composer.fill(text)
        await composer.press("Enter")
        await expect(composer).to_have_value("")

    async def modal_titled(self, title: str) -> Locator:
        await expect(self.modal.get_by_test_id("modal-title")).to_have_text(title)
        return self.modal

    async def close_modal(self) -> None:
        await self.modal.get_by_test_id("modal-close").click()
        await expect(self.modal).to_have_count(0)

    async def ask_to_remove(self, name: str, count: int, reason: str) -> str:
        """`name` asks their CSM to remove `count` licenses; the request's reference."""
        await self.be(name)
        await self.command("/licenses remove")
        form = await self.modal_titled("Remove licenses")
        await form.get_by_label("Licenses to remove").fill(str(count))
        await form.get_by_label("Reason").fill(reason)
        await form.get_by_role("button", name="Send request").click()
        sent = await self.modal_titled("Request sent")
        found = re.search(
            r"Request (RR-\d+) is with your Customer Success Manager", await sent.inner_text()
        )
        assert found, await sent.inner_text()
        await self.close_modal()
        return found.group(1)

    async def shot(self, name: str) -> Path:
        self.taken += 1
        path = self.shots / f"{self.taken:02d}-{name}.png"
        await self.page.screenshot(path=path)
        return path


def amount(text: str) -> str:
    """The first money amount in a text, e.g. "$22.05"."""
    found = MONEY.search(text)
    assert found, f"no amount in {text!r}"
    return found.group(0)
