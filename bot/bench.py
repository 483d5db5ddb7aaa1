"""`make bench`: ack latency and throughput of licensebot against a bare Bolt app.

Both servers run in their own process on loopback and get the same signed requests, from
20 concurrent clients for a fixed time per scenario: `/licenses` (the plan modal path), a
quote update (block_actions on the number input) and Order Now (view_submission). The
fake Slack Web API the bot talks to runs in this process, beside the load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM, ADMIN = "T0ACME", "U0ANN"
DEMO_ACCOUNTS = Path(__file__).parent / "sandbox" / "demo_accounts.yml"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def signed(body: str, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


# --- the bare app: acks and nothing else ------------------------------------------------


def run_bare(port: int) -> None:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from blocks.ids import Action, Callback

    # Same authorization as the bot: one auth.test against the fake on first request.
    client = AsyncWebClient(token=TOKEN, base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(signing_secret=SECRET, client=client)

    async def just_ack(ack: Any) -> None:
        await ack()

    app.command("/licenses")(just_ack)
    app.action(Action.ADD_COUNT)(just_ack)
    app.view(Callback.ADD)(just_ack)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web.run_app(web_app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- requests -----------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    build: Callable[[], tuple[str, str]]


def trigger_id() -> str:
    return f"{secrets.randbelow(9 * 10**12) + 10**12}.{secrets.randbelow(9 * 10**12) + 10**12}.{secrets.token_hex(16)}"


def command_body(slack: FakeSlackProcess, text: str = "") -> tuple[str, str]:
    form = {
        "team_id": TEAM,
        "channel_id": "C0GENERAL",
        "user_id": ADMIN,
        "user_name": "ann",
        "command": "/licenses",
        "text": text,
        "api_app_id": "A0BENCH",
        "response_url": f"{slack.base_url}/response/{secrets.token_hex(12)}",
        "trigger_id": trigger_id(),
    }
    return urlencode(form), "application/x-www-form-urlencoded"


def payload_body(payload: dict[str, Any]) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


def base_payload(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": {"id": ADMIN, "username": "ann", "name": "ann", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "acme"},
        "api_app_id": "A0BENCH",
        "trigger_id": trigger_id(),
        "view": view,
    }


def quote_body(view: dict[str, Any]) -> tuple[str, str]:
    payload = {
        "type": "block_actions",
        **base_payload(view),
        "container": {"type": "view", "view_id": view["id"]},
        "actions": [
            {
                "type": "number_input",
                "block_id": "add_count",
                "action_id": "add_count_input",
                "value": "3",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return payload_body(payload)


def order_body(view: dict[str, Any]) -> tuple[str, str]:
    """A fresh order each time: the shown quote of `view` under a new idempotency key."""
    metadata = json.loads(view["private_metadata"])
    metadata["idempotency_key"] = f"bench-{uuid.uuid4().hex}"
    submitted = {
        **view,
        "private_metadata": json.dumps(metadata),
        "state": {
            "values": {"add_count": {"add_count_input": {"type": "number_input", "value": "3"}}}
        },
    }
    return payload_body({"type": "view_submission", **base_payload(submitted)})


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
                started = time.perf_counter()
                async with http.post(url, data=body, headers=signed(body, content_type)) as answer:
                    await answer.read()
                    if answer.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Result(len(latencies), errors, elapsed, latencies)


async def wait_until_up(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.post(url, data=b"") as _answer:
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


class FakeSlackProcess:
    """The fake Web API in a process of its own, so its work doesn't slow the load."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base_url}/api/"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.sandbox.fake_slack",
                "--port",
                str(self.port),
                "--token",
                TOKEN,
            ],
            stdout=subprocess.DEVNULL,
        )

    async def state(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.base_url}/_fake/views") as answer,
        ):
            state: dict[str, Any] = await answer.json()
            return state

    async def wait_until_up(self) -> None:
        for _ in range(200):
            try:
                await self.state()
                return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        raise RuntimeError("the fake Slack Web API did not start")

    async def wait_until_quiet(self, quiet: float = 0.5, limit: float = 120.0) -> None:
        """Until the bot has made no Web API call for `quiet` seconds."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            seen = (await self.state())["calls"]
            await asyncio.sleep(quiet)
            if (await self.state())["calls"] == seen:
                return


@dataclass
class Servers:
    slack: FakeSlackProcess
    ours: str
    bare: str
    log: Path
    processes: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def start_servers() -> Servers:
    """The fake Web API, licensebot (HTTP, SQLite) and the bare app, each in a process."""
    slack = FakeSlackProcess()
    workdir = Path(tempfile.mkdtemp(prefix="licensebot-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "SLACK_APP_TOKEN": "",
    }
    licensebot = [sys.executable, "-m", "bot.cli"]
    subprocess.run(
        [*licensebot, "accounts", "import", str(DEMO_ACCOUNTS)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    ours_port, bare_port = free_port(), free_port()
    log = workdir / "bot.log"
    serve = [*licensebot, "serve", "--http", "--host", "127.0.0.1", "--port", str(ours_port)]
    processes = [
        slack.process,
        subprocess.Popen(
            [*serve, "--no-scheduler"], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w")
        ),
        subprocess.Popen(
            [sys.executable, "-m", "bot.bench", "bare", "--port", str(bare_port)],
            env=env,
            stderr=subprocess.DEVNULL,
        ),
    ]
    return Servers(
        slack,
        f"http://127.0.0.1:{ours_port}/slack/events",
        f"http://127.0.0.1:{bare_port}/slack/events",
        log,
        processes,
    )


async def bench(servers: Servers, seconds: float, concurrency: int) -> None:
    slack, ours, bare = servers.slack, servers.ours, servers.bare
    await slack.wait_until_up()
    await wait_until_up(ours)
    await wait_until_up(bare)
    view = await open_add_modal(ours, slack)
    scenarios = [
        Scenario("licenses", lambda: command_body(slack)),
        Scenario("quote", lambda: quote_body(view)),
        Scenario("order", lambda: order_body(view)),
    ]
    ratios: dict[str, float] = {}
    print(f"{concurrency} concurrent clients, {seconds:g} s per run; latency is until the ack")
    for scenario in scenarios:
        results = {}
        for label, url in (("licensebot", ours), ("bare bolt", bare)):
            # Each run starts from a quiet bot: the previous run's post-ack work
            # (modals, receipts) would otherwise still be taking CPU.
            await slack.wait_until_quiet()
            results[label] = result = await drive(url, scenario, seconds, concurrency)
            print(
                f"{scenario.name:<9} {label:<11} {result.rps:8.1f} req/s   "
                f"p50 {result.percentile(0.5):6.1f} ms   p99 {result.percentile(0.99):6.1f} ms   "
                f"errors {result.errors}"
            )
        ratios[scenario.name] = results["licensebot"].rps / results["bare bolt"].rps
    print(f"bot log: {servers.log}")
    print("ratio " + " ".join(f"{name}={value:.2f}" for name, value in ratios.items()))


async def open_add_modal(url: str, slack: FakeSlackProcess) -> dict[str, Any]:
    """Open an add-licenses modal and show a quote in it, as an admin would."""
    async with aiohttp.ClientSession() as http:
        body, content_type = command_body(slack, "add")
        async with http.post(url, data=body, headers=signed(body, content_type)):
            pass
        view = await _wait_for(slack, lambda views: next(iter(views.values()), None))
        body, content_type = quote_body(view)
        async with http.post(url, data=body, headers=signed(body, content_type)):
            pass

        def quoted(views: dict[str, Any]) -> Any:
            shown = views[view["id"]]
            return shown if json.loads(shown["private_metadata"]).get("quote") else None

        found: dict[str, Any] = await _wait_for(slack, quoted)
        return found


async def _wait_for(slack: FakeSlackProcess, probe: Callable[[dict[str, Any]], Any]) -> Any:
    for _ in range(100):
        found = probe((await slack.state())["views"])
        if found:
            return found
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not answer as expected")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__)
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "bare"])
    parser.add_argument("--port", type=int, default=0, help="port of the bare app (mode bare)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if args.mode == "bare":
        run_bare(args.port)
    else:
        servers = start_servers()
        try:
            asyncio.run(bench(servers, args.seconds, args.concurrency))
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
