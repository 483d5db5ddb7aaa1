"""`make bench`: ack latency and throughput of licensebot against a bare Bolt app.

Both servers run in their own process on loopback and get the same signed requests, from
20 concurrent clients for a fixed time per scenario: `/licenses` (the plan modal path), a
quote update (block_actions on the number input) and Order Now (view_submission). The
fake Slack Web API both talk to runs in a third process, so that its work slows neither
the servers nor the load generator (this process).

licensebot is built the one way it is built everywhere (`bot.bootstrap`, served by
`bot.server.start_http`) on the demo workspace (`bot.sandbox.demo`: its settings, people,
channels and accounts). The requests are Slack's, built and signed by the sandbox's Slack
side (`bot.sandbox.slack_side`); only trigger ids are made here, since the fake Web API
that would issue them lives in another process (it accepts unknown ones: strict_triggers
off).

`--seconds` sets the length of each run; tests/perf/test_bench.py makes a short one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
from bot.bootstrap import bootstrap
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

SECRET = "bench-signing-secret"
# The bot seals view metadata with a key it derives from its secrets; so can we.
SEAL_KEY = Settings(_env_file=None, slack_signing_secret=SECRET).seal_key  # type: ignore[call-arg]
TOKEN = "xoxb-bench"
HOST = "127.0.0.1"
ANN = next(user for user in DEMO_USERS if user.user_id == "U0ANN")  # admin of Acme, Pro
# As Slack names her in payloads: furnish() gives the demo people lower-case handles.
ADMIN = payload_user(ANN.user_id, ANN.name.lower(), ANN.team_id)
COUNT = "3"  # the licenses the quote and the order are for
# Processes start fresh (no fork of this one, its event loop or its sockets).
PROCESSES = multiprocessing.get_context("spawn")


# --- the processes: fake Slack, licensebot, the bare app -----------------------------------


async def _serve_until_stopped() -> None:
    """Until the bench terminates the process."""
    await asyncio.Event().wait()


def run_fake_slack(database_url: str, bench: Connection) -> None:
    """The fake Web API, furnished with the demo workspace; sends the bench the bot's settings."""

    async def main() -> None:
        slack = FakeSlack(bot_token=TOKEN, validate_blocks=False, strict_triggers=False)
        furnish(slack)
        await slack.start()
        bench.send((demo_settings(database_url, slack, SECRET), slack.base_url))
        await _serve_until_stopped()

    asyncio.run(main())


def run_licensebot(log_file: Path, bench: Connection) -> None:
    """licensebot as `serve --http --no-scheduler` runs it, on the demo accounts."""
    logging.basicConfig(
        filename=log_file, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    settings: Settings = bench.recv()

    async def main() -> None:
        async with bootstrap(settings) as runtime:
            await import_accounts(runtime.services, demo_accounts(), actor="bench")
            runner = await start_http(runtime, HOST, 0)
            bench.send(runner.addresses[0][1])
            await _serve_until_stopped()

    asyncio.run(main())


def run_bare(bench: Connection) -> None:
    """A Bolt app whose listeners only ack, on the same Slack and signing secret."""
    settings: Settings = bench.recv()
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    token = settings.slack_bot_token.get_secret_value()
    signing_secret = settings.slack_signing_secret.get_secret_value()

    async def main() -> None:
        # Same authorization as the bot: one auth.test against the fake on first request.
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url)
        app = AsyncApp(signing_secret=signing_secret, client=client)

        async def just_ack(ack: Any) -> None:
            await ack()

        app.command("/licenses")(just_ack)
        app.action(Action.ADD_COUNT)(just_ack)
        app.view(Callback.ADD)(just_ack)

        async def events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        web_app = web.Application()
        web_app.router.add_post("/slack/events", events)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, HOST, 0).start()
        bench.send(runner.addresses[0][1])
        await _serve_until_stopped()

    asyncio.run(main())


@dataclass
class Servers:
    slack_url: str  # the fake's base URL: /api/, /response/…, /_fake/views
    ours: str
    bare: str
    log: Path


@contextmanager
def start_servers(workdir: Path) -> Iterator[Servers]:
    """The fake Web API, licensebot (HTTP, SQLite) and the bare app, each in a process.

    All three start (and import) at once; the two servers wait for the fake's settings.
    """
    processes: list[BaseProcess] = []

    def start(target: Callable[..., None], *args: Any) -> tuple[BaseProcess, Connection]:
        ours, theirs = PROCESSES.Pipe()
        process = PROCESSES.Process(target=target, args=(*args, theirs), daemon=True)
        process.start()
        processes.append(process)
        return process, ours

    log = workdir / "bot.log"
    try:
        slack = start(run_fake_slack, f"sqlite:///{workdir / 'bench.db'}")
        ours = start(run_licensebot, log)
        bare = start(run_bare)
        settings, slack_url = _started("the fake Slack Web API", *slack)
        for _, server in (ours, bare):
            server.send(settings)
        ours_port = _started(f"licensebot (log: {log})", *ours)
        bare_port = _started("the bare Bolt app", *bare)
        yield Servers(
            slack_url,
            f"http://{HOST}:{ours_port}/slack/events",
            f"http://{HOST}:{bare_port}/slack/events",
            log,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=10)


def _started(name: str, process: BaseProcess, received: Connection, limit: float = 120) -> Any:
    """What a process sends once it serves: its port, or the fake Slack's settings."""
    deadline = time.monotonic() + limit
    while not received.poll(0.1):
        if not process.is_alive():
            raise RuntimeError(f"{name} exited with code {process.exitcode} before serving")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within {limit:g} s")
    return received.recv()


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


def licenses_command(slack_url: str, text: str = "") -> Request:
    """`/licenses text` by Ann in #general."""
    form = slash_command(
        ADMIN,
        text,
        channel=GENERAL,
        channel_name="general",
        response_url=f"{slack_url}/response/{secrets.token_hex(12)}",
        trigger_id=new_trigger_id(),
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


# --- load ---------------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * share), len(ordered) - 1)] * 1000 if ordered else 0.0


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


class FakeSlackState:
    """The fake Web API's views and call count, read over HTTP from its process."""

    def __init__(self, http: aiohttp.ClientSession, slack_url: str) -> None:
        self.http = http
        self.url = f"{slack_url}/_fake/views"

    async def read(self) -> JsonDict:
        async with self.http.get(self.url) as answer:
            state: JsonDict = await answer.json()
            return state

    async def wait_until_quiet(self, quiet: float, limit: float = 120.0) -> None:
        """Until the bot has made no Web API call for `quiet` seconds."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            seen = (await self.read())["calls"]
            await asyncio.sleep(quiet)
            if (await self.read())["calls"] == seen:
                return

    async def wait_for(self, probe: Callable[[JsonDict], Any], limit: float = 10.0) -> Any:
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            found = probe((await self.read())["views"])
            if found:
                return found
            await asyncio.sleep(0.05)
        raise RuntimeError("the bot did not answer as expected (see the bot log)")


async def post(http: aiohttp.ClientSession, url: str, request: Request) -> None:
    body, content_type = request
    headers = signed_headers(body, content_type, SECRET)
    async with http.post(url, data=body, headers=headers) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}: {await answer.text()}")


async def open_add_modal(http: aiohttp.ClientSession, servers: Servers) -> JsonDict:
    """Open an add-licenses modal and show a quote in it, as an admin would."""
    state = FakeSlackState(http, servers.slack_url)
    await post(http, servers.ours, licenses_command(servers.slack_url, "add"))
    view: JsonDict = await state.wait_for(lambda views: next(iter(views.values()), None))
    await post(http, servers.ours, quote_keystroke(view))

    def quoted(views: JsonDict) -> Any:
        shown = views[view["id"]]
        return shown if json.loads(opened(shown)).get("quote") else None

    found: JsonDict = await state.wait_for(quoted)
    return found


Report = dict[str, dict[str, Result]]  # scenario -> "licensebot" | "bare bolt" -> result


async def bench(servers: Servers, seconds: float, concurrency: int, quiet: float) -> Report:
    async with aiohttp.ClientSession() as http:
        view = await open_add_modal(http, servers)
        state = FakeSlackState(http, servers.slack_url)
        scenarios = [
            Scenario("licenses", lambda: licenses_command(servers.slack_url)),
            Scenario("quote", lambda: quote_keystroke(view)),
            Scenario("order", lambda: order_now(view)),
        ]
        report: Report = {}
        print(f"{concurrency} concurrent clients, {seconds:g} s per run; latency is until the ack")
        for scenario in scenarios:
            results = report[scenario.name] = {}
            for label, url in (("licensebot", servers.ours), ("bare bolt", servers.bare)):
                # Each run starts from a quiet bot: the previous run's post-ack work
                # (modals, receipts) would otherwise still be taking CPU.
                await state.wait_until_quiet(quiet)
                results[label] = result = await drive(url, scenario, seconds, concurrency)
                print(
                    f"{scenario.name:<9} {label:<11} {result.rps:8.1f} req/s   "
                    f"p50 {result.percentile(0.5):6.1f} ms   "
                    f"p99 {result.percentile(0.99):6.1f} ms   "
                    f"errors {result.errors}",
                    flush=True,
                )
    ratios = {name: runs["licensebot"].rps / runs["bare bolt"].rps for name, runs in report.items()}
    print(f"bot log: {servers.log}")
    print("ratio " + " ".join(f"{name}={value:.2f}" for name, value in ratios.items()))
    return report


def run(
    seconds: float = 5.0, concurrency: int = 20, quiet: float = 0.5, workdir: Path | None = None
) -> Report:
    """Start the three processes, measure every scenario on both servers, print, stop.

    The database and the bot's log go to `workdir` (a new temporary folder by default).
    """
    workdir = workdir or Path(tempfile.mkdtemp(prefix="licensebot-bench-"))
    with start_servers(workdir) as servers:
        return asyncio.run(bench(servers, seconds, concurrency, quiet))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.5,
        help="seconds without a Web API call from the bot before each run",
    )
    args = parser.parse_args()
    run(args.seconds, args.concurrency, args.quiet)


if __name__ == "__main__":
    main()
