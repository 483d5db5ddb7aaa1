"""Takes the README's screenshots into docs/ (or another folder):

- add-licenses-modal.png: Ann's add-licenses modal with its live quote;
- csm-queue.png: Casey's CSM queue, with Ann's and Val's removal requests and Ira's
  request for 2 more licenses to decide;
- license-history.png: Ann's license history, her order and her removal request.

    .venv/bin/python -m tests.e2e.readme_screenshot [FOLDER]

It runs the sandbox on a throw-away database and drives the page in Debian's Chromium,
the same way the browser tests do.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from pathlib import Path

from playwright.async_api import expect

from tests.e2e.harness import CHROMIUM, SlackPage, opened, served

DOCS = Path(__file__).resolve().parents[2] / "docs"
ADD_LICENSES = "add-licenses-modal.png"
CSM_QUEUE = "csm-queue.png"
HISTORY = "license-history.png"


async def take(folder: Path) -> list[Path]:
    saved: list[Path] = []
    with tempfile.TemporaryDirectory() as scratch:
        async with served(Path(scratch)) as (url, _box), opened(url) as page:
            slack = SlackPage(page, Path(scratch))

            # Ann's quote for 3 more licenses, then she orders them.
            await slack.be("Ann")
            await slack.command("/licenses add")
            modal = await slack.modal_titled("Add licenses")
            await modal.get_by_label("Licenses to add").press_sequentially("3")
            await expect(modal).to_contain_text("13 (10 + 3)")
            await page.screenshot(path=folder / ADD_LICENSES)
            saved.append(folder / ADD_LICENSES)
            await modal.get_by_role("button", name="Order Now").click()
            await slack.modal_titled("Order placed")
            await slack.close_modal()

            # Two removal requests, then Casey's queue of them, oldest first.
            await slack.ask_to_remove("Ann", 2, "Two people left the team in November.")
            await slack.ask_to_remove("Val", 1, "One seat has not been used since summer.")
            # Ira's Enterprise account goes through its CSM: he asks Casey for 2 more.
            await slack.be("Ira")
            await slack.command("/licenses add 2")
            plan = await slack.modal_titled("Licenses")
            await plan.get_by_role("button", name="Ask my CSM").click()
            await slack.modal_titled("Ask my CSM")
            await slack.close_modal()
            await slack.be("Casey")
            await slack.command("/licenses")
            queue = await slack.modal_titled("CSM queue")
            await expect(queue.get_by_role("button", name="Approve")).to_have_count(3)
            await page.screenshot(path=folder / CSM_QUEUE)
            saved.append(folder / CSM_QUEUE)
            await slack.close_modal()

            # Ann's history: her removal request, then her order.
            await slack.be("Ann")
            await slack.command("/licenses history")
            history = await slack.modal_titled("License history")
            lines = history.locator(".bk-section").filter(
                has_text=re.compile(r"^(Order|Removal request) ")
            )
            await expect(lines).to_have_count(2)
            await page.screenshot(path=folder / HISTORY)
            saved.append(folder / HISTORY)
    return saved


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS
    folder.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(take(folder)):
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
