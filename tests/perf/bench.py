"""`make bench`: licensebot's ack latency, throughput and CPU against two Bolt baselines.

Closed loop (the default): 20 concurrent clients send each path for a fixed time to three
servers in turn, each in its own process: licensebot, a bare Bolt app that only acks, and a
reference Bolt app that acks and then makes exactly the Slack calls the path must make, with
static payloads. The paths: `/licenses` (the plan modal: views.open), a quote update
(block_actions on the number input: views.update) and Order Now (view_submission:
views.update, conversations.open, chat.postMessage, views.publish). Each line gives acks per
second, p50/p99 ack latency and the server's CPU per request, read from /proc before the run
and once the fake Slack has gone quiet and the server idle (so the work after the ack
counts), and under it the Slack calls per request that CPU paid for. Then `ratio`:
licensebot's throughput over the bare app's, and last `vs_limit`: the reference's CPU per
request over licensebot's (1.0 = licensebot does no more work than the path must).

Open loop (`--rate R --seconds S`): each path in turn at a fixed arrival rate, sends never
waiting for answers, against licensebot alone: one instance on SQLite, or `--instances 2`
(two `serve` instances, requests alternating) on PostgreSQL (TEST_DATABASE_URL). It ends
with one line per path: missed acks (no 200 within 3 s), ack p99 and result p99, where the
result is the Slack call the user waits for (licenses: views.open, quote: views.update,
order: the receipt DM), timed from the scheduled send until the fake Slack received it.

The fake Slack Web API runs in a process of its own, so its work slows neither the servers
nor the load generator (this process). licensebot is built the one way it is built
everywhere (`bot.bootstrap`, served by `bot.server.start_http`) on the demo workspace
(`bot.sandbox.demo`). The requests are Slack's, built and signed by the sandbox's Slack side
(`bot.sandbox.slack_side`); only trigger ids are made here, since the fake that would issue
them lives in another process (it accepts unknown ones: strict_triggers off).

tests/perf/test_bench.py makes a short run of each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import multiprocessing
import os
import re
import secrets
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, Block, Callback
from bot.bootstrap import bootstrap, slack_client
from bot.config import Settings
from bot.sandbox.demo import DEMO_USERS, GENERAL, demo_accounts, demo_settings, furnish
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.slack_side import (
    FORM,
    JsonDict,
    keystroke,
    payload_form,
    payload_user,
    signed_headers,
    slash_command,
    view_actions,
    view_submission,
)
from bot.seal import seal, unseal
from bot.server import start_http
from bot.services.accounts import import_accounts
from tests.databases import postgres_schema

SECRET = "bench-signing-secret"
# The bot seals view metadata with a key it derives from its secrets; so can we.
SEAL_KEY = Settings(_env_file=None, slack_signing_secret=SECRET).seal_key  # type: ignore[call-arg]
TOKEN = "xoxb-bench"
HOST = "127.0.0.1"
ANN = next(user for user in DEMO_USERS if user.user_id == "U0ANN")  # admin of Acme, Pro
# As Slack names her in payloads: furnish() gives the demo people lower-case handles.
ADMIN = payload_user(ANN.user_id, ANN.name.lower(), ANN.team_id)
COUNT = "3"  # the licenses the quote and the order are for
PATHS = ("licenses", "quote", "order")
ACK_LIMIT = 3.0  # Slack gives up on an ack after 3 seconds
# Processes start fresh (no fork of this one, its event loop or its sockets).
PROCESSES = multiprocessing.get_context("spawn")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The receipt DM and the receipt modal both name the order by its reference (ORD-…, see
# bot.integrations.billing.new_reference): how an order's DM is told from the others.
ORDER_REFERENCE = re.compile(r"\bORD-[0-9A-F]+\b")

# What the reference app sends: small valid surfaces, the same every time.
STATIC_MODAL: JsonDict = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Add licenses"},
    "close": {"type": "plain_text", "text": "Close"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "You have 10 licenses."}}],
}
STATIC_HOME: JsonDict = {
    "type": "home",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Acme Corp: 13 licenses"}}],
}
STATIC_RECEIPT = "You added 3 licenses (10 → 13); charged $30.00. Order ORD-00000000."


# --- the processes: fake Slack, licensebot, the bare and reference apps ----------------------


async def _serve_until_stopped() -> None:
    """Until the bench terminates the process."""
    await asyncio.Event().wait()


def run_fake_slack(database_url: str, bench: Connection) -> None:
    """The fake Web API, furnished with the demo workspace; sends the bench the bot's settings.

    Beside it, on a port of its own, the bench reads the fake's call record: the count (to
    wait for quiet) and the calls themselves with the fake's time of each (open loop).
    """

    async def main() -> None:
        slack = FakeSlack(bot_token=TOKEN, validate_blocks=False, strict_triggers=False)
        furnish(slack)
        await slack.start()

        async def count(_: web.Request) -> web.Response:
            return web.json_response({"calls": len(slack.calls)})

        async def calls(request: web.Request) -> web.Response:
            since = int(request.query.get("since", "0"))
            # `at` is the fake's clock, time.monotonic: CLOCK_MONOTONIC, the same in every
            # process of the machine, so the bench can set it against its send times.
            found = [
                {"method": c.method, "at": c.at, "ok": c.ok, "params": c.params}
                for c in slack.calls[since:]
            ]
            return web.json_response({"calls": found})

        async def methods(request: web.Request) -> web.Response:
            since = int(request.query.get("since", "0"))
            counted: dict[str, list[int]] = {}
            for call in slack.calls[since:]:
                counted.setdefault(call.method, [0, 0])[0 if call.ok else 1] += 1
            return web.json_response(counted)

        record = web.Application()
        record.router.add_get("/count", count)
        record.router.add_get("/calls", calls)
        record.router.add_get("/methods", methods)
        runner = web.AppRunner(record, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, 0).start()
        record_url = f"http://{HOST}:{runner.addresses[0][1]}"
        bench.send((demo_settings(database_url, slack, SECRET), slack.base_url, record_url))
        await _serve_until_stopped()

    asyncio.run(main())


def run_licensebot(log_file: Path, seed: bool, bench: Connection) -> None:
    """licensebot as `serve --http --no-scheduler` runs it; `seed` imports the demo accounts."""
    logging.basicConfig(
        filename=log_file, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    settings: Settings = bench.recv()

    async def main() -> None:
        async with bootstrap(settings) as runtime:
            if seed:
                await import_accounts(runtime.services, demo_accounts(), actor="bench")
            runner = await start_http(runtime, HOST, 0)
            bench.send(runner.addresses[0][1])
            await _serve_until_stopped()

    asyncio.run(main())


async def _serve_bolt(app: AsyncApp) -> int:
    """`app` on /slack/events of a loopback port; the port."""

    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    port: int = runner.addresses[0][1]
    return port


def _secrets_of(settings: Settings) -> tuple[str, str]:
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    return (
        settings.slack_bot_token.get_secret_value(),
        settings.slack_signing_secret.get_secret_value(),
    )


def run_bare(bench: Connection) -> None:
    """A Bolt app whose listeners only ack, on the same Slack and signing secret."""
    settings: Settings = bench.recv()
    token, signing_secret = _secrets_of(settings)

    async def main() -> None:
        # Same authorization as the bot: one auth.test against the fake on first request.
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
        app = AsyncApp(signing_secret=signing_secret, client=client)

        async def just_ack(ack: Any) -> None:
            await ack()

        app.command("/licenses")(just_ack)
        app.action(Action.ADD_COUNT)(just_ack)
        app.view(Callback.ADD)(just_ack)
        bench.send(await _serve_bolt(app))
        await _serve_until_stopped()

    asyncio.run(main())


def run_reference(log_file: Path, bench: Connection) -> None:
    """A Bolt app that acks, then makes exactly the Slack calls each path must make, with
    static payloads: the least work the path can be. Its failures go to `log_file`.
    """
    logging.basicConfig(
        filename=log_file, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("reference")
    settings: Settings = bench.recv()
    _, signing_secret = _secrets_of(settings)

    async def main() -> None:
        # The bot's own client (one HTTP session for every call), so both pay the same for it.
        client = slack_client(settings)
        app = AsyncApp(signing_secret=signing_secret, client=client)
        # Quotes and receipts update one view, opened now; unknown triggers are taken.
        opened = await client.views_open(trigger_id=new_trigger_id(), view=STATIC_MODAL)
        view_id = opened["view"]["id"]
        running: set[asyncio.Task[Any]] = set()

        def after_ack(work: Awaitable[Any]) -> None:
            task = asyncio.ensure_future(work)
            running.add(task)
            task.add_done_callback(done)

        def done(task: asyncio.Task[Any]) -> None:
            running.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("reference call failed", exc_info=task.exception())

        async def licenses(ack: Any, body: JsonDict) -> None:
            await ack()
            after_ack(client.views_open(trigger_id=body["trigger_id"], view=STATIC_MODAL))

        async def quote(ack: Any) -> None:
            await ack()
            after_ack(client.views_update(view_id=view_id, view=STATIC_MODAL))

        async def order(ack: Any) -> None:
            # The path's ack carries the "placing" screen.
            await ack(response_action="update", view=STATIC_MODAL)
            after_ack(receipt())

        async def receipt() -> None:
            await client.views_update(view_id=view_id, view=STATIC_MODAL)
            dm = await client.conversations_open(users=ANN.user_id)
            await client.chat_postMessage(channel=dm["channel"]["id"], text=STATIC_RECEIPT)
            await client.views_publish(user_id=ANN.user_id, view=STATIC_HOME)

        app.command("/licenses")(licenses)
        app.action(Action.ADD_COUNT)(quote)
        app.view(Callback.ADD)(order)
        bench.send(await _serve_bolt(app))
        await _serve_until_stopped()

    asyncio.run(main())


@dataclass
class Server:
    url: str  # its /slack/events
    pid: int


@dataclass
class Servers:
    slack_url: str  # the fake's base URL: /api/, /response/…, /_fake/views
    record_url: str  # the fake's call record: /count, /calls
    ours: list[Server]  # licensebot, one or more instances
    logs: list[Path]  # theirs
    bare: Server | None = None
    reference: Server | None = None
    reference_log: Path | None = None


@contextmanager
def start_servers(
    workdir: Path, database_url: str, instances: int = 1, baselines: bool = True
) -> Iterator[Servers]:
    """The fake Web API and licensebot (`instances` of it), each in a process; with
    `baselines`, the bare and the reference apps too.

    All start (and import) at once; the servers wait for the fake's settings. A second
    instance gets them once the first serves: the first migrates and seeds the database.
    """
    processes: list[BaseProcess] = []

    def start(target: Callable[..., None], *args: Any) -> tuple[BaseProcess, Connection]:
        ours, theirs = PROCESSES.Pipe()
        process = PROCESSES.Process(target=target, args=(*args, theirs), daemon=True)
        process.start()
        processes.append(process)
        return process, ours

    logs = [
        workdir / ("bot.log" if instances == 1 else f"bot-{n + 1}.log") for n in range(instances)
    ]
    reference_log = workdir / "reference.log"
    try:
        slack = start(run_fake_slack, database_url)
        bots = [start(run_licensebot, log, n == 0) for n, log in enumerate(logs)]
        others = [start(run_bare), start(run_reference, reference_log)] if baselines else []
        settings, slack_url, record_url = _started("the fake Slack Web API", *slack)
        for _, server in others:
            server.send(settings)
        servers = Servers(slack_url, record_url, [], logs)
        for (process, bot), log in zip(bots, logs, strict=True):
            bot.send(settings)
            port = _started(f"licensebot (log: {log})", process, bot)
            servers.ours.append(Server(f"http://{HOST}:{port}/slack/events", _pid(process)))
        if others:
            names = ("the bare Bolt app", f"the reference app (log: {reference_log})")
            servers.bare, servers.reference = (
                Server(f"http://{HOST}:{_started(name, *other)}/slack/events", _pid(other[0]))
                for name, other in zip(names, others, strict=True)
            )
            servers.reference_log = reference_log
        yield servers
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)


def _pid(process: BaseProcess) -> int:
    assert process.pid is not None
    return process.pid


def _started(name: str, process: BaseProcess, received: Connection, limit: float = 120) -> Any:
    """What a process sends once it serves: its port, or the fake Slack's settings."""
    deadline = time.monotonic() + limit
    while not received.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"{name} exited with code {process.exitcode} before serving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within {limit:g} s")
    return received.recv()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, all its threads (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The name (field 2) is in parentheses and may hold spaces: count from after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15
    return (utime + stime) / CLOCK_TICKS


@contextmanager
def database(workdir: Path, db: str) -> Iterator[str]:
    """The bench's database: SQLite in `workdir`, or a schema of TEST_DATABASE_URL's server."""
    if db == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        raise SystemExit("--db postgres and --instances 2 need TEST_DATABASE_URL")
    with postgres_schema(base, "lb_bench") as url:
        yield url


# --- requests: Slack's, from the sandbox's Slack side ---------------------------------------


Request = tuple[str, str]  # body, content type


@dataclass
class Scenario:
    name: str
    build: Callable[[], Request]


def new_trigger_id() -> str:
    """A trigger_id in Slack's shape (the fake in its process takes unknown ones)."""
    return (
        f"{secrets.randbelow(9 * 10**12) + 10**12}."
        f"{secrets.randbelow(9 * 10**12) + 10**12}.{secrets.token_hex(16)}"
    )


def licenses_command(slack_url: str, text: str = "", trigger_id: str | None = None) -> Request:
    """`/licenses text` by Ann in #general."""
    form = slash_command(
        ADMIN,
        text,
        channel=GENERAL,
        channel_name="general",
        response_url=f"{slack_url}/response/{secrets.token_hex(12)}",
        trigger_id=trigger_id or new_trigger_id(),
    )
    return urlencode(form), FORM


def opened(view: JsonDict) -> str:
    """A view's private_metadata, its seal checked."""
    text = unseal(view["private_metadata"], SEAL_KEY)
    assert text is not None, "the bot's seal did not check out"
    return text


def quote_keystroke(view: JsonDict) -> Request:
    """Ann types the count into the add modal's number input: the live quote's request."""
    typed, action = keystroke(view, Block.ADD_COUNT, Action.ADD_COUNT, COUNT)
    return payload_form(view_actions(ADMIN, typed, [action], new_trigger_id())), FORM


def order_now(view: JsonDict) -> Request:
    """Order Now on the add modal showing a quote: a fresh order each time (new key)."""
    metadata = json.loads(opened(view))
    metadata["idempotency_key"] = f"bench-{uuid.uuid4().hex}"
    fresh = {**view, "private_metadata": seal(json.dumps(metadata), SEAL_KEY)}
    typed, _ = keystroke(fresh, Block.ADD_COUNT, Action.ADD_COUNT, COUNT)
    return payload_form(view_submission(ADMIN, typed, new_trigger_id())), FORM


# What Slack adds to a view it keeps; the rest is what the bot sent.
_KEPT_BY_SLACK = {
    "id",
    "team_id",
    "state",
    "hash",
    "root_view_id",
    "previous_view_id",
    "app_id",
    "bot_id",
    "app_installed_team_id",
}


def another_add_modal(view: JsonDict) -> JsonDict:
    """The add modal `view` as the bot would open it for a new Add: its own name
    (modal_id, hence external_id) and idempotency key, the same quote. To views.open.
    """
    metadata = json.loads(opened(view))
    metadata["modal_id"] = uuid.uuid4().hex
    metadata["idempotency_key"] = f"bench-{uuid.uuid4().hex}"
    sent = {k: v for k, v in view.items() if k not in _KEPT_BY_SLACK}
    sent["private_metadata"] = seal(json.dumps(metadata), SEAL_KEY)
    sent["external_id"] = f"licensebot-add-{metadata['modal_id']}"
    return sent


# --- the fake Slack, read from this process -------------------------------------------------


@dataclass
class SlackCall:
    method: str
    at: float  # when the fake answered it: time.monotonic, comparable with this process's
    ok: bool
    params: JsonDict


class FakeSlackState:
    """The fake Web API's views and calls, read over HTTP from its process."""

    def __init__(self, http: aiohttp.ClientSession, servers: Servers) -> None:
        self.http = http
        self.servers = servers

    async def views(self) -> JsonDict:
        async with self.http.get(f"{self.servers.slack_url}/_fake/views") as answer:
            state: JsonDict = await answer.json()
            return state

    async def count(self) -> int:
        async with self.http.get(f"{self.servers.record_url}/count") as answer:
            return int((await answer.json())["calls"])

    async def calls(self, since: int) -> list[SlackCall]:
        async with self.http.get(f"{self.servers.record_url}/calls?since={since}") as answer:
            return [SlackCall(**call) for call in (await answer.json())["calls"]]

    async def methods(self, since: int) -> dict[str, list[int]]:
        """The calls since the `since`-th by method: [answered ok, refused]."""
        async with self.http.get(f"{self.servers.record_url}/methods?since={since}") as answer:
            counted: dict[str, list[int]] = await answer.json()
            return counted

    async def wait_until_done(self, quiet: float, pids: Sequence[int], limit: float = 300.0) -> int:
        """Until, for `quiet` seconds, no Web API call came and the servers `pids` were idle;
        the calls so far.

        Quiet Slack alone is not enough: a server may be busy without calling it (orders
        waiting for another order of their account to be charged, say).
        """
        # Idle: under a tenth of a core, and at least two clock ticks (their resolution).
        idle = max(0.1 * quiet, 2 / CLOCK_TICKS)
        deadline = time.monotonic() + limit
        seen, used = await self.count(), [cpu_seconds(pid) for pid in pids]
        while time.monotonic() < deadline:
            await asyncio.sleep(quiet)
            now, using = await self.count(), [cpu_seconds(pid) for pid in pids]
            if now == seen and all(b - a <= idle for a, b in zip(used, using, strict=True)):
                return now
            seen, used = now, using
        raise RuntimeError(f"the servers were still at work {limit:g} s after the run")

    async def wait_for(self, probe: Callable[[JsonDict], Any], limit: float = 10.0) -> Any:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            found = probe((await self.views())["views"])
            if found:
                return found
            await asyncio.sleep(0.05)
        raise RuntimeError("the bot did not answer as expected (see the bot log)")

    async def open_views(self, views: Sequence[JsonDict], concurrency: int = 8) -> list[JsonDict]:
        """Open modals in the fake directly, as if the bot had: the views as Slack keeps them."""
        url = f"{self.servers.slack_url}/api/views.open"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        gate = asyncio.Semaphore(concurrency)

        async def open_one(view: JsonDict) -> JsonDict:
            async with gate:
                sent = {"trigger_id": new_trigger_id(), "view": view}
                async with self.http.post(url, json=sent, headers=headers) as answer:
                    body: JsonDict = await answer.json()
            if not body.get("ok"):
                raise RuntimeError(f"the fake Slack refused a modal: {body}")
            stored: JsonDict = body["view"]
            return stored

        return list(await asyncio.gather(*(open_one(view) for view in views)))


async def post(http: aiohttp.ClientSession, url: str, request: Request) -> None:
    body, content_type = request
    headers = signed_headers(body, content_type, SECRET)
    async with http.post(url, data=body, headers=headers) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}: {await answer.text()}")


async def open_add_modal(http: aiohttp.ClientSession, servers: Servers) -> JsonDict:
    """Open an add-licenses modal and show a quote in it, as an admin would."""
    state = FakeSlackState(http, servers)
    bot = servers.ours[0].url
    await post(http, bot, licenses_command(servers.slack_url, "add"))
    # The bot's add modal (the reference app has a modal of its own open).
    view: JsonDict = await state.wait_for(
        lambda views: next((v for v in views.values() if v["callback_id"] == Callback.ADD), None)
    )
    await post(http, bot, quote_keystroke(view))

    def quoted(views: JsonDict) -> Any:
        shown = views[view["id"]]
        return shown if json.loads(opened(shown)).get("quote") else None

    found: JsonDict = await state.wait_for(quoted)
    return found


# --- closed loop ----------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu: float = 0.0  # the server's CPU seconds for the run and the work after it
    # The Slack calls the server made for the run, by method: [answered ok, refused].
    calls: dict[str, list[int]] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests if self.requests else math.nan

    def percentile(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000

    def calls_line(self) -> str:
        """The Slack calls per request: what the CPU per request paid for."""
        if not self.requests or not self.calls:
            return "slack calls/req: none"
        counts = []
        for method, (ok, refused) in self.calls.items():
            shown = f"{method} {(ok + refused) / self.requests:.2f}"
            if refused:
                shown += f" ({refused / self.requests:.2f} refused)"
            counts.append(shown)
        return "slack calls/req: " + ", ".join(counts)


def share(part: float, whole: float) -> float:
    """part / whole; nan (printed so) when there is no whole to compare with."""
    return part / whole if whole else math.nan


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] if ordered else 0.0


async def drive(url: str, scenario: Scenario, seconds: float, concurrency: int) -> Result:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        end = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                body, content_type = scenario.build()
                headers = signed_headers(body, content_type, SECRET)
                started = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Result(len(latencies), errors, elapsed, latencies)


LABELS = ("licensebot", "bare bolt", "reference")
Report = dict[str, dict[str, Result]]  # scenario -> one of LABELS -> result


async def bench(servers: Servers, seconds: float, concurrency: int, quiet: float) -> Report:
    assert servers.bare is not None and servers.reference is not None
    targets = dict(zip(LABELS, (servers.ours[0], servers.bare, servers.reference), strict=True))
    async with aiohttp.ClientSession() as http:
        view = await open_add_modal(http, servers)
        state = FakeSlackState(http, servers)
        scenarios = [
            Scenario("licenses", lambda: licenses_command(servers.slack_url)),
            # Every keystroke in the one modal, with the hash it had when opened: after the
            # first update licensebot's views.update is refused (hash_conflict) or skipped
            # as superseded. Either is the path's one call or less; the calls line says which.
            Scenario("quote", lambda: quote_keystroke(view)),
            Scenario("order", lambda: order_now(view)),
        ]
        report: Report = {}
        print(
            f"{concurrency} concurrent clients, {seconds:g} s per run; latency is until the ack, "
            "CPU until the server is idle and the fake Slack quiet"
        )
        # Each run starts from quiet servers: the previous run's post-ack work (modals,
        # receipts) would otherwise still be taking CPU.
        pids = [server.pid for server in targets.values()]
        since = await state.wait_until_done(quiet, pids)
        for scenario in scenarios:
            results = report[scenario.name] = {}
            for label, server in targets.items():
                before = cpu_seconds(server.pid)
                result = await drive(server.url, scenario, seconds, concurrency)
                # The work after the ack is the run's too: until it is done.
                done = await state.wait_until_done(quiet, [server.pid])
                result.cpu = cpu_seconds(server.pid) - before
                result.calls = await state.methods(since)
                since = done
                results[label] = result
                print(
                    f"{scenario.name:<9} {label:<11} {result.rps:8.1f} req/s   "
                    f"p50 {result.percentile(0.5):6.1f} ms   "
                    f"p99 {result.percentile(0.99):6.1f} ms   "
                    f"cpu/req {result.cpu_per_request * 1000:5.2f} ms   "
                    f"errors {result.errors}",
                    flush=True,
                )
                print(f"{'':22}{result.calls_line()}")
    ratios = {
        name: share(runs["licensebot"].rps, runs["bare bolt"].rps) for name, runs in report.items()
    }
    limits = {
        name: share(runs["reference"].cpu_per_request, runs["licensebot"].cpu_per_request)
        for name, runs in report.items()
    }
    print(f"bot log: {servers.logs[0]}")
    print(f"reference log: {servers.reference_log}")
    print("ratio " + " ".join(f"{name}={value:.2f}" for name, value in ratios.items()))
    print("vs_limit " + " ".join(f"{name}={value:.2f}" for name, value in limits.items()))
    return report


def run(
    seconds: float = 5.0,
    concurrency: int = 20,
    quiet: float = 0.5,
    workdir: Path | None = None,
    db: str = "sqlite",
) -> Report:
    """Start the processes, measure every scenario on the three servers, print, stop.

    The database and the logs go to `workdir` (a new temporary folder by default).
    """
    workdir = workdir or Path(tempfile.mkdtemp(prefix="licensebot-bench-"))
    with database(workdir, db) as url, start_servers(workdir, url) as servers:
        return asyncio.run(bench(servers, seconds, concurrency, quiet))


# --- open loop ------------------------------------------------------------------------------


@dataclass
class Shot:
    """One request of an open-loop run."""

    url: str
    body: str
    key: str  # what its result is found by in the fake's calls (see results_of)
    at: float = 0.0  # when it was due to be sent: time.monotonic
    ack: float | None = None  # seconds from `at` to a 200; None: missed
    result: float | None = None  # seconds from `at` to the fake's receiving the result


@dataclass
class OpenLoopResult:
    path: str
    rate: float
    instances: int
    db: str
    shots: list[Shot] = field(default_factory=list)
    late: float = 0.0  # the most this process sent a request after it was due
    duplicates: int = 0  # results the fake received more than once

    @property
    def acks_missed(self) -> int:
        return sum(shot.ack is None for shot in self.shots)

    @property
    def results_missing(self) -> int:
        return sum(shot.result is None for shot in self.shots)

    def p99_ms(self, values: Sequence[float | None]) -> int:
        return round(percentile([v for v in values if v is not None], 0.99) * 1000)

    def line(self) -> str:
        return (
            f"open_loop path={self.path} rate={self.rate:g} instances={self.instances} "
            f"db={self.db} acks_missed={self.acks_missed} "
            f"ack_p99_ms={self.p99_ms([s.ack for s in self.shots])} "
            f"result_p99_ms={self.p99_ms([s.result for s in self.shots])} "
            f"results_missing={self.results_missing}"
        )


async def shots_for(
    path: str, count: int, servers: Servers, state: FakeSlackState, template: JsonDict
) -> list[Shot]:
    """`count` requests of `path`, alternating between the instances, each with its key.

    A quote and an order each get an add modal of their own, opened in the fake first: its
    external_id tells its views.update apart (and with it the order's receipt), and its hash
    is current, as when a person types in their own modal.
    """
    urls = [server.url for server in servers.ours]
    shots = []
    if path == "licenses":
        for n in range(count):
            trigger_id = new_trigger_id()
            body, _ = licenses_command(servers.slack_url, trigger_id=trigger_id)
            shots.append(Shot(urls[n % len(urls)], body, trigger_id))
        return shots
    modals = await state.open_views([another_add_modal(template) for _ in range(count)])
    build = quote_keystroke if path == "quote" else order_now
    for n, modal in enumerate(modals):
        body, _ = build(modal)
        shots.append(Shot(urls[n % len(urls)], body, modal["external_id"]))
    return shots


async def fire(http: aiohttp.ClientSession, shot: Shot) -> None:
    """Send `shot`; its ack counts when it is a 200 within ACK_LIMIT of when it was due."""
    headers = signed_headers(shot.body, FORM, SECRET)
    try:
        async with asyncio.timeout(shot.at + ACK_LIMIT - time.monotonic()):
            async with http.post(shot.url, data=shot.body, headers=headers) as answer:
                await answer.read()
                if answer.status == 200:
                    shot.ack = time.monotonic() - shot.at
    except (TimeoutError, aiohttp.ClientError):
        pass


def results_of(path: str, calls: Sequence[SlackCall]) -> tuple[dict[str, float], int]:
    """When the fake received each request's result, by the request's key; and how many
    results it received more than once.

    Matched by what names the request in the call, never by order (calls finish out of
    order): licenses by trigger_id (each command has its own; views.open exchanges it);
    a quote by its modal's external_id (views.update names it); an order by its modal's
    external_id too, whose receipt views.update shows the order's reference, and the
    receipt DM (chat.postMessage) is the one whose text names that reference.
    """
    first: dict[str, float] = {}
    duplicates = 0

    def found(key: str, at: float) -> None:
        nonlocal duplicates
        if key in first:
            duplicates += 1
        first[key] = min(at, first.get(key, at))

    ok = [call for call in calls if call.ok]
    if path == "licenses":
        for call in ok:
            if call.method == "views.open":
                found(str(call.params.get("trigger_id")), call.at)
        return first, duplicates
    if path == "quote":
        for call in ok:
            if call.method == "views.update":
                found(str(call.params.get("external_id")), call.at)
        return first, duplicates
    receipts: dict[str, float] = {}
    for call in ok:
        if call.method == "chat.postMessage":
            for reference in ORDER_REFERENCE.findall(str(call.params.get("text"))):
                if reference in receipts:
                    duplicates += 1
                receipts[reference] = min(call.at, receipts.get(reference, call.at))
    # What a receipt modal shows names its order, even if Slack refused to show it.
    for call in calls:
        if call.method != "views.update":
            continue
        shown = json.dumps(call.params.get("view", {}).get("blocks", []))
        for reference in set(ORDER_REFERENCE.findall(shown)) & receipts.keys():
            first[str(call.params.get("external_id"))] = receipts[reference]
    return first, duplicates


async def open_loop_path(
    http: aiohttp.ClientSession,
    servers: Servers,
    state: FakeSlackState,
    template: JsonDict,
    result: OpenLoopResult,
    seconds: float,
    quiet: float,
) -> None:
    count = max(1, round(result.rate * seconds))
    shots = await shots_for(result.path, count, servers, state, template)
    pids = [server.pid for server in servers.ours]
    since = await state.wait_until_done(quiet, pids)
    sending: list[asyncio.Task[None]] = []
    start = time.monotonic() + 0.05
    for n, shot in enumerate(shots):
        # Due at a fixed time whatever the answers so far: arrivals don't wait for acks.
        shot.at = start + n / result.rate
        await asyncio.sleep(max(0.0, shot.at - time.monotonic()))
        result.late = max(result.late, time.monotonic() - shot.at)
        sending.append(asyncio.create_task(fire(http, shot)))
    await asyncio.gather(*sending)
    await state.wait_until_done(quiet, pids)
    received, result.duplicates = results_of(result.path, await state.calls(since))
    for shot in shots:
        at = received.get(shot.key)
        shot.result = None if at is None else at - shot.at
        if shot.result is not None and shot.result < 0:
            raise RuntimeError(f"a {result.path} result came before its request: mismatched")
    result.shots = shots


async def open_loop(
    servers: Servers, rate: float, seconds: float, db: str, quiet: float
) -> list[OpenLoopResult]:
    instances = len(servers.ours)
    print(
        f"open loop: each path at {rate:g} requests/s for {seconds:g} s, {instances} "
        f"instance(s) on {db}; latency from when each request was due"
    )
    results = []
    # No pool limit: a slow ack must not hold back the next request.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        template = await open_add_modal(http, servers)
        state = FakeSlackState(http, servers)
        for path in PATHS:
            result = OpenLoopResult(path, rate, instances, db)
            await open_loop_path(http, servers, state, template, result, seconds, quiet)
            results.append(result)
            print(
                f"{path:<9} sent {len(result.shots)}, at most {result.late * 1000:.0f} ms late; "
                f"acked {len(result.shots) - result.acks_missed}, "
                f"results {len(result.shots) - result.results_missing}, "
                f"received twice {result.duplicates}",
                flush=True,
            )
    for log in servers.logs:
        print(f"bot log: {log}")
    for result in results:
        print(result.line())
    return results


def run_open(
    rate: float,
    seconds: float,
    instances: int = 1,
    db: str | None = None,
    quiet: float = 0.5,
    workdir: Path | None = None,
) -> list[OpenLoopResult]:
    """Start the fake and `instances` licensebots, send each path at `rate`, print, stop.

    Several instances share one PostgreSQL database; one uses SQLite unless `db` says.
    """
    db = db or ("postgres" if instances > 1 else "sqlite")
    if instances > 1 and db != "postgres":
        raise SystemExit("several instances share one database: PostgreSQL (--db postgres)")
    workdir = workdir or Path(tempfile.mkdtemp(prefix="licensebot-bench-"))
    with (
        database(workdir, db) as url,
        start_servers(workdir, url, instances, baselines=False) as servers,
    ):
        return asyncio.run(open_loop(servers, rate, seconds, db, quiet))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=20, help="closed loop: clients")
    parser.add_argument(
        "--rate", type=float, help="open loop: requests per second of each path, sent on time"
    )
    parser.add_argument(
        "--instances", type=int, default=1, help="open loop: licensebot instances (2: PostgreSQL)"
    )
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), help="sqlite (one instance) or postgres"
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.5,
        help="seconds without a Slack call or server CPU that tell a run's work is done",
    )
    args = parser.parse_args()
    if args.rate is None:
        if args.instances != 1:
            parser.error("--instances is for the open loop (--rate)")
        run(args.seconds, args.concurrency, args.quiet, db=args.db or "sqlite")
    elif args.rate <= 0 or args.instances < 1:
        parser.error("--rate must be positive and --instances at least 1")
    else:
        run_open(args.rate, args.seconds, args.instances, args.db, args.quiet)


if __name__ == "__main__":
    main()
