"""Add to Slack (OAuth v2): Bolt's own flow on our stores, and the pages the installer reads.

GET /slack/install starts it (a state kept in the database and a browser cookie);
GET /slack/oauth_redirect finishes it: oauth.v2.access at SLACK_API_URL, then the
installation is saved with its tokens encrypted.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse

from bot.integrations.installations import STATE_SECONDS, oauth_state_store
from bot.services.accounts import recent_account

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes, as manifest.yml asks for them (README explains each one).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "channels:history",
    "groups:history",
    "users:read",
    "users:read.email",
)

# Why an installation failed, in the installer's words; Bolt names the reason.
FAILURES = {
    "invalid_browser": (
        "This installation was started in another browser, or its link was used already. "
        "Nothing was installed. Start again from Add to Slack, in this browser."
    ),
    "invalid_state": (
        "This installation link has expired or was used already. Nothing was installed. "
        "Start again from Add to Slack."
    ),
    "access_denied": (
        "The installation was cancelled in Slack, so nothing was installed. You can start "
        "again from Add to Slack whenever you like."
    ),
    "invalid_code": (
        "Slack did not accept this installation's authorization code, so nothing was "
        "installed. Start again from Add to Slack."
    ),
    "missing_code": (
        "Slack did not send back an authorization code, so nothing was installed. Start again "
        "from Add to Slack."
    ),
}
FAILED_ON_OUR_SIDE = (
    "Slack or licensebot could not finish the installation, and nothing was installed. "
    "Please try again in a minute."
)


def oauth_settings(runtime: Runtime) -> AsyncOAuthSettings:
    settings = runtime.settings
    assert settings.slack_client_id and settings.slack_client_secret
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.slack_oauth_authorize_url,
        installation_store=runtime.installations,
        state_store=oauth_state_store(runtime.engine),
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(
            success=lambda args: installed_page(runtime, args),
            failure=failed_page,
        ),
    )


async def installed_page(runtime: Runtime, args: AsyncSuccessArgs) -> BoltResponse:
    installation = args.installation
    team_id = installation.team_id or ""
    team = html.escape(installation.team_name or installation.enterprise_name or "your workspace")
    if team_id and team_id == runtime.settings.vendor_team_id:
        heading = f"licensebot is installed in {team}, the vendor workspace"
        steps = (
            "CSMs make a link code for a customer's account with "
            "<code>/licenses link-code ACCOUNT</code> here, and send it to an admin of that "
            "account. Requests to CSMs arrive in the CSM channel: invite licensebot to it."
        )
    elif team_id and (account := await recent_account(runtime.services, team_id=team_id)):
        heading = f"licensebot is installed in {team}"
        steps = (
            f"This workspace is linked to {html.escape(account.name)} already. Type "
            "<code>/licenses</code> in Slack to see your plan and licenses."
        )
    else:
        heading = f"licensebot is installed in {team}"
        steps = (
            "One step left: link this workspace to your account. An admin of your account "
            "types <code>/licenses link CODE</code> in Slack. The code comes from your "
            "Customer Success Manager; it works once, within 24 hours."
        )
    return _page(200, heading, steps)


async def failed_page(args: AsyncFailureArgs) -> BoltResponse:
    # Slack's own `error` (access_denied when the installer cancels) or Bolt's reason.
    reason = args.reason
    text = FAILURES.get(reason, FAILED_ON_OUR_SIDE)
    status = args.suggested_status_code if reason in FAILURES else 500
    return _page(status, "licensebot was not installed", html.escape(text))


def _page(status: int, heading: str, text: str) -> BoltResponse:
    body = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{heading}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;"
        "line-height:1.5;color:#1d1c1d}code{background:#f4f4f4;padding:0 .25rem}</style>"
        f"</head><body><h1>{heading}</h1><p>{text}</p></body></html>"
    )
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html"})
