"""Running the bot: HTTP (aiohttp: POST /slack/events, POST /stripe/webhook, GET /healthz,
Add to Slack) or Socket Mode."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import text
from yarl import URL

from bot.bootstrap import Runtime, bootstrap
from bot.config import Settings
from bot.integrations.billing import BillingRefused, BillingUnavailable
from bot.integrations.stripe import BadWebhookSignature, verify_webhook
from bot.oauth import INSTALL_PATH, REDIRECT_PATH
from bot.scheduler import build_scheduler
from bot.services.billing import UnreadableEvent, handle_stripe_event
from bot.signature import is_signed
from bot.slack_shapes import is_slack_shaped
from handlers.surfaces import RESPONSE_SENT_KEY, RUNTIME_KEY

log = logging.getLogger(__name__)
TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Slack-Request-Timestamp", "X-Slack-Signature"
STRIPE_WEBHOOK_PATH = "/stripe/webhook"


def parse_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """A request body as Bolt's own parse reads it, with the URL decoding in C (yarl's).

    Bolt decodes forms with urllib's pure-Python parse_qsl: a sixth of a keystroke's CPU,
    for a payload of mostly percent-escaped JSON.
    """
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
    # As dict(parse_qsl(…)): a repeated field keeps its last value.
    fields = dict(URL.build(query_string=raw, encoded=True).query.items())
    if "payload" in raw:
        payload = fields.get("payload")
        return json.loads(payload) if payload is not None else {}
    return fields


def slack_request(request: web.Request, body: bytes) -> AsyncBoltRequest:
    """The request for Bolt, as its aiohttp adapter builds it, with the body parsed by us."""
    raw = body.decode(request.charset or "utf-8")
    bolt_request = AsyncBoltRequest(
        body="",
        query=request.query_string,
        headers=request.headers,  # type: ignore[arg-type]
    )
    bolt_request.raw_body = raw
    bolt_request.body = parse_body(raw, bolt_request.content_type)
    bolt_request.context = build_async_context(AsyncBoltContext(), bolt_request.body)
    return bolt_request


def enter(bolt_request: AsyncBoltRequest, runtime: Runtime, sent: asyncio.Event) -> None:
    """What every listener finds in a request's context: the runtime, and when the
    response went out."""
    bolt_request.context[RUNTIME_KEY] = runtime
    bolt_request.context[RESPONSE_SENT_KEY] = sent


def redelivered_event(bolt_request: AsyncBoltRequest) -> bool:
    """Slack redelivers an event it thinks we missed; the first delivery does the work."""
    return bolt_request.body.get("type") == "event_callback" and bool(
        bolt_request.headers.get("x-slack-retry-num")
    )


async def dispatch(runtime: Runtime, secret: str, request: web.Request) -> web.StreamResponse:
    """One Slack request through Bolt; listeners may wait until the response has gone out.

    The signature is checked first: an unsigned request reaches no listener, no error
    handler and no log line, and can make the bot say nothing to anyone.
    """
    body = await request.read()
    headers = request.headers
    stamp, signature = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not is_signed(secret, stamp, signature, body, time.time()):
        return web.Response(status=401, text="invalid signature")
    try:
        bolt_request = slack_request(request, body)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        # Fields Bolt reads that no request of Slack's would carry so (see slack_shapes).
        return web.Response(status=400, text="not a request Slack sends")
    if not is_slack_shaped(bolt_request.body, request.content_type, body):
        return web.Response(status=400, text="not a request Slack sends")
    if redelivered_event(bolt_request):
        return web.Response(status=200)
    sent = asyncio.Event()
    enter(bolt_request, runtime, sent)
    try:
        response = await to_aiohttp_response(await runtime.app.async_dispatch(bolt_request))
        await response.prepare(request)
        await response.write_eof()
    finally:
        sent.set()
    return response


class SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, telling listeners when their ack has gone out."""

    def __init__(self, runtime: Runtime, app_token: str) -> None:
        super().__init__(runtime.app, app_token)
        self.runtime = runtime

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.time()
        sent = asyncio.Event()
        bolt_request = AsyncBoltRequest(
            mode="socket_mode",
            body=req.payload,
            headers=build_headers(req),
        )
        if redelivered_event(bolt_request):
            await send_async_response(client, req, BoltResponse(status=200, body=""), start)
            return
        enter(bolt_request, self.runtime, sent)
        try:
            response = await self.app.async_dispatch(bolt_request)
            await send_async_response(client, req, response, start)
        finally:
            sent.set()


def build_web_app(rt: Runtime) -> web.Application:
    secret = rt.settings.slack_signing_secret
    signing_secret = secret.get_secret_value() if secret else ""

    async def slack_events(request: web.Request) -> web.StreamResponse:
        return await dispatch(rt, signing_secret, request)

    async def healthz(_: web.Request) -> web.Response:
        try:
            async with rt.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True})

    async def stripe_webhook(request: web.Request) -> web.Response:
        return await receive_stripe_event(rt, request)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_post(STRIPE_WEBHOOK_PATH, stripe_webhook)
    web_app.router.add_get("/healthz", healthz)
    if rt.installations is not None:
        web_app.router.add_get(
            INSTALL_PATH, partial(oauth_step, rt, AsyncOAuthFlow.handle_installation)
        )
        web_app.router.add_get(
            REDIRECT_PATH, partial(oauth_step, rt, AsyncOAuthFlow.handle_callback)
        )
    return web_app


async def receive_stripe_event(rt: Runtime, request: web.Request) -> web.Response:
    """POST /stripe/webhook: a signed event applied once; a bad signature changes nothing."""
    body = await request.read()
    secret = rt.settings.stripe_webhook_secret
    try:
        event = verify_webhook(
            body,
            request.headers.get("Stripe-Signature", ""),
            secret.get_secret_value() if secret else "",
            time.time(),
        )
    except BadWebhookSignature as refused:
        log.warning("Stripe webhook refused: %s", refused.reason)
        return web.json_response({"error": refused.reason}, status=400)
    try:
        outcome = await handle_stripe_event(rt.services, event)
    except UnreadableEvent as exc:
        return web.json_response({"error": str(exc)}, status=400)
    except (BillingUnavailable, BillingRefused) as exc:
        # Stripe delivers the event again later; by then Stripe can be asked.
        log.warning("Stripe event %s not applied yet: %s", event.get("id"), exc)
        return web.json_response({"error": "try again later"}, status=503)
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    rt.drain_soon()
    return web.json_response({"received": True, "outcome": outcome})


async def oauth_step(
    rt: Runtime,
    step: Callable[[AsyncOAuthFlow, AsyncBoltRequest], Awaitable[BoltResponse]],
    request: web.Request,
) -> web.Response:
    """Add to Slack: the install page (state issued), or Slack's redirect back (code in)."""
    flow = rt.app.oauth_flow
    assert flow is not None
    return await to_aiohttp_response(await step(flow, await to_bolt_request(request)))


async def start_http(rt: Runtime, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(build_web_app(rt), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@asynccontextmanager
async def scheduled(rt: Runtime, enabled: bool) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    scheduler = build_scheduler(rt)
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown(wait=False)


async def serve(
    settings: Settings, *, socket: bool, host: str, port: int, scheduler: bool = True
) -> None:
    async with bootstrap(settings, socket_mode=socket) as rt, scheduled(rt, scheduler):
        if socket:
            assert settings.slack_app_token is not None
            handler = SocketModeHandler(rt, settings.slack_app_token.get_secret_value())
            await handler.connect_async()  # type: ignore[no-untyped-call]
            print("licensebot is connected to Slack (Socket Mode). Ctrl-C stops it.", flush=True)
            try:
                await wait_for_stop()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
            return
        runner = await start_http(rt, host, port)
        print(f"licensebot is listening on http://{host}:{port}/slack/events", flush=True)
        try:
            await wait_for_stop()
        finally:
            await runner.cleanup()


async def run_scheduler(settings: Settings) -> None:
    """The scheduled jobs alone, for deployments with several web instances."""
    async with bootstrap(settings, socket_mode=True) as rt, scheduled(rt, True):
        print("licensebot scheduler is running. Ctrl-C stops it.", flush=True)
        await wait_for_stop()
