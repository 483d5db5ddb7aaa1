"""Takes the README's screenshot: Ann's add-licenses modal with its live quote.

    .venv/bin/python -m tests.e2e.readme_screenshot [docs/add-licenses-modal.png]

It runs the sandbox on a throw-away database and drives the page in Debian's Chromium,
the same way the browser tests do.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import expect

from tests.e2e.harness import CHROMIUM, SlackPage, opened, served

DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "add-licenses-modal.png"


async def take(target: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        async with served(Path(scratch)) as (url, _box), opened(url) as page:
            slack = SlackPage(page, Path(scratch))
            await slack.be("Ann")
            await slack.command("/licenses add")
            modal = await slack.modal_titled("Add licenses")
            await modal.get_by_label("Licenses to add").press_sequentially("3")
            await expect(modal).to_contain_text("13 (10 + 3)")
            target.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=target)
    print(f"saved {target}")


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    asyncio.run(take(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
