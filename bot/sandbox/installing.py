"""Add to Slack as an installer goes through it, against the bot's own OAuth routes.

The sandbox installs its demo workspaces this way at start, and the tests do too: the
install page issues a state (and its cookie), the fake Slack issues a code, and the bot's
redirect route trades it for a token.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, parse_qsl, urlparse, urlsplit, urlunsplit

import aiohttp

from bot.oauth import INSTALL_PATH, REDIRECT_PATH
from bot.sandbox.fake_slack import FakeSlack


async def start_install(http: aiohttp.ClientSession, bot_url: str) -> str:
    """Open Add to Slack; returns the link to Slack's authorize page (state cookie kept)."""
    async with http.get(f"{bot_url}{INSTALL_PATH}") as page:
        page.raise_for_status()
        text = await page.text()
        # Bolt marks its state cookie Secure; browsers keep it for http://127.0.0.1, and
        # so must this client.
        for name, cookie in page.cookies.items():
            http.cookie_jar.update_cookies({name: cookie.value})
    links = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', text)]
    [link] = [str(href) for href in links if "state=" in href]
    return link


async def allow(http: aiohttp.ClientSession, authorize_link: str) -> tuple[int, str]:
    """Slack's authorize page, then Allow, as a browser goes: returns the bot's page that
    the redirect lands on.
    """
    async with http.get(authorize_link) as page:
        page.raise_for_status()
    # Allow posts the authorize request's own fields back (the page's hidden inputs).
    link = urlsplit(authorize_link)
    page_url = urlunsplit(link._replace(query=""))
    async with http.post(page_url, data=dict(parse_qsl(link.query))) as landed:
        return landed.status, await landed.text()


def state_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["state"][0]


async def finish_install(
    http: aiohttp.ClientSession, bot_url: str, **query: str
) -> tuple[int, str]:
    """Slack's redirect back to the bot; returns the page the installer reads."""
    async with http.get(f"{bot_url}{REDIRECT_PATH}", params=query) as page:
        return page.status, await page.text()


async def install(
    http: aiohttp.ClientSession, bot_url: str, slack: FakeSlack, team_id: str
) -> tuple[int, str]:
    """The whole Add to Slack for `team_id`, Allow clicked."""
    state = state_of(await start_install(http, bot_url))
    return await finish_install(http, bot_url, code=slack.authorize_code(team_id), state=state)


def cookie_jar() -> aiohttp.CookieJar:
    """A browser's cookies for http://127.0.0.1, where the bot runs locally."""
    return aiohttp.CookieJar(unsafe=True)
