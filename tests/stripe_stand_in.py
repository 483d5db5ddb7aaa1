"""A Stripe stand-in for tests: localstripe behind a small proxy of ours.

localstripe (PyPI) keeps real state, so a charge, a customer's default card and a
subscription's quantity behave like Stripe across calls. Where it differs from Stripe in
ways licensebot would trip on, the proxy papers over it:

- it refuses a param real Stripe needs (`proration_behavior` on subscription and item
  updates): the proxy drops it before forwarding. Nothing else is dropped: licensebot
  sends localstripe's PaymentIntent parameters as they are;
- it ignores `Idempotency-Key`: the proxy stores each keyed POST's answer and replays it,
  and answers Stripe's 400 `idempotency_error` when a key comes back with other params;
- it stores an updated item quantity as the string it was sent: the proxy turns such
  quantities back into ints in its JSON answers.

Its card declines stay HTTP 402 with `invalid_request_error` and code `card_declined`.

The proxy logs every request it sees, params as sent (before dropping), at
`GET /_proxy/requests`; `DELETE /_proxy/requests` clears the log.

Run: `python -m tests.stripe_stand_in --port P` (0 picks a free port); it prints
`READY http://127.0.0.1:PORT` once both servers listen. `StripeStandIn` does that for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import parse_qsl, urlencode

import httpx
from aiohttp import ClientSession, ClientTimeout, web

READY = "READY"
ROOT = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"

# (POST path, params localstripe refuses there although Stripe needs them)
_DROPPED: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    # 400 on items, a TypeError (500) on subscriptions.
    (re.compile(r"/v1/subscription_items/[^/]+"), frozenset({"proration_behavior"})),
    (re.compile(r"/v1/subscriptions/[^/]+"), frozenset({"proration_behavior"})),
)
# Objects whose `quantity` localstripe may hand back as the string it was sent.
_QUANTITY_OBJECTS = frozenset({"subscription_item", "subscription"})


# --- the proxy (runs in the subprocess) --------------------------------------------


def _params(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Form or query pairs as a dict; a repeated key (`expand[]`) keeps all its values."""
    params: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key not in params:
            params[key] = value
        else:
            previous = params[key]
            params[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return params


def _dropped_for(method: str, path: str) -> frozenset[str]:
    if method != "POST":
        return frozenset()
    for pattern, names in _DROPPED:
        if pattern.fullmatch(path):
            return names
    return frozenset()


def _fix_quantities(value: Any) -> bool:
    """Turn digit-string quantities of subscriptions and their items into ints; True if any."""
    changed = False
    if isinstance(value, dict):
        quantity = value.get("quantity")
        is_ours = value.get("object") in _QUANTITY_OBJECTS
        if is_ours and isinstance(quantity, str) and quantity.isdigit():
            value["quantity"] = int(quantity)
            changed = True
        for inner in value.values():
            changed = _fix_quantities(inner) or changed
    elif isinstance(value, list):
        for inner in value:
            changed = _fix_quantities(inner) or changed
    return changed


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str

    def response(self, **headers: str) -> web.Response:
        return web.Response(
            status=self.status, body=self.body, content_type=self.content_type, headers=headers
        )


@dataclass(frozen=True)
class _Stored:
    fingerprint: tuple[str, str, tuple[tuple[str, str], ...] | bytes]
    answer: _Answer


class _Proxy:
    def __init__(self, backend: str, session: ClientSession) -> None:
        self._backend = backend
        self._session = session
        self._log: list[dict[str, Any]] = []
        self._stored: dict[tuple[str, str], _Stored] = {}
        # One keyed POST at a time: a concurrent retry must see the first one's answer.
        self._keyed = asyncio.Lock()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/_proxy/requests", self._requests)
        app.router.add_delete("/_proxy/requests", self._clear)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _requests(self, request: web.Request) -> web.Response:
        return web.json_response(self._log)

    async def _clear(self, request: web.Request) -> web.Response:
        self._log.clear()
        return web.Response(status=204)

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        is_form = request.content_type == FORM
        pairs = parse_qsl(body.decode(), keep_blank_values=True) if is_form else []
        key = request.headers.get("Idempotency-Key")
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": _params(list(request.query.items())),
            "params": _params(pairs),
            "idempotency_key": key,
            "replayed": False,
        }
        self._log.append(entry)
        if request.method != "POST" or not key:
            answer = await self._upstream(request, body, pairs, is_form)
            entry["status"] = answer.status
            return answer.response()

        # Stripe keys are per account: the API key stands for the account here.
        scope = (request.headers.get("Authorization", ""), key)
        fingerprint = (
            request.method,
            request.path_qs,
            tuple(sorted(pairs)) if is_form else body,
        )
        async with self._keyed:
            stored = self._stored.get(scope)
            if stored is not None and stored.fingerprint != fingerprint:
                entry["status"] = 400
                return web.json_response(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "message": (
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with. Try using a key other "
                                f"than '{key}' if you meant to execute a different request."
                            ),
                        }
                    },
                    status=400,
                )
            if stored is not None:
                entry["replayed"] = True
                entry["status"] = stored.answer.status
                return stored.answer.response(**{"Idempotent-Replayed": "true"})
            answer = await self._upstream(request, body, pairs, is_form)
            # Like Stripe: results of requests that ran are kept (successes and declines);
            # refused params and server errors are not, so a fixed retry goes through.
            if answer.status < 300 or answer.status == 402:
                self._stored[scope] = _Stored(fingerprint, answer)
        entry["status"] = answer.status
        return answer.response()

    async def _upstream(
        self, request: web.Request, body: bytes, pairs: list[tuple[str, str]], is_form: bool
    ) -> _Answer:
        dropped = _dropped_for(request.method, request.path)
        if is_form and dropped:
            body = urlencode([(k, v) for k, v in pairs if k not in dropped]).encode()
        headers = {
            name: request.headers[name]
            for name in ("Authorization", "Content-Type", "Origin")
            if name in request.headers
        }
        async with self._session.request(
            request.method,
            self._backend + request.path_qs,
            data=body if body else None,
            headers=headers,
        ) as reply:
            content = await reply.read()
            content_type = reply.content_type or "application/octet-stream"
        if content_type == "application/json":
            try:
                decoded = json.loads(content)
            except ValueError:
                decoded = None
            if _fix_quantities(decoded):
                content = json.dumps(decoded, indent=2, sort_keys=True).encode() + b"\n"
        return _Answer(reply.status, content, content_type)


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def _serve(host: str, port: int) -> None:
    # Imported here: only the subprocess needs localstripe.
    from localstripe import resources, server

    # localstripe pickles its whole store to /tmp/localstripe.pickle after every change,
    # a file every instance would share; keep the store in memory only (and never load it).
    resources.Store.dump_to_disk = lambda self: None

    backend = web.AppRunner(server.app, access_log=None)
    await backend.setup()
    backend_socket = _listening_socket("127.0.0.1", 0)
    await web.SockSite(backend, backend_socket).start()
    backend_url = f"http://127.0.0.1:{backend_socket.getsockname()[1]}"

    async with ClientSession(timeout=ClientTimeout(total=30)) as session:
        front = web.AppRunner(_Proxy(backend_url, session).app(), access_log=None)
        await front.setup()
        front_socket = _listening_socket(host, port)
        await web.SockSite(front, front_socket).start()
        print(f"{READY} http://{host}:{front_socket.getsockname()[1]}", flush=True)

        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        watch = asyncio.create_task(_stop_when_orphaned(stopping))
        await stopping.wait()
        watch.cancel()
        await front.cleanup()
    await backend.cleanup()


async def _stop_when_orphaned(stopping: asyncio.Event) -> None:
    # A test run killed outright never calls stop(); do not outlive it.
    parent = os.getppid()
    while True:
        await asyncio.sleep(1)
        if os.getppid() != parent:
            stopping.set()
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))


# --- the test-side handle ----------------------------------------------------------


class StandInError(RuntimeError):
    """The stand-in did not start, or refused a set-up request."""


class StripeStandIn:
    """One stand-in subprocess on a free port, with helpers that create realistic data.

    Use as a context manager or call start() and stop().
    """

    api_key = "sk_test_licensebot_stand_in"

    def __init__(self, *, startup_timeout: float = 15.0) -> None:
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._url: str | None = None
        self._http: httpx.Client | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise StandInError("the Stripe stand-in is not running")
        return self._url

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self._process is not None:
            raise StandInError("the Stripe stand-in is already running")
        # Its output goes to a nameless temporary file: the port it picked comes back there,
        # its errors too, and nothing is left behind even if the test run is killed.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.stripe_stand_in", "--port", "0"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
            )
            self._url = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self._http = httpx.Client(
            base_url=self._url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10.0,
        )

    def _wait_until_ready(self) -> str:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_timeout
        url: str | None = None
        while time.monotonic() < deadline:
            if url is None:
                for line in self._log().splitlines():
                    if line.startswith(READY + " "):
                        url = line.split(" ", 1)[1].strip()
            if url is not None:
                try:
                    if httpx.get(f"{url}/_proxy/requests", timeout=1.0).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
            if self._process.poll() is not None:
                raise StandInError(
                    f"the Stripe stand-in exited with {self._process.returncode}:\n{self._log()}"
                )
            time.sleep(0.02)
        raise StandInError(
            f"the Stripe stand-in did not answer within {self._startup_timeout:g}s:\n{self._log()}"
        )

    def _log(self) -> str:
        if self._output is None:
            return ""
        # pread, not seek+read: the child shares the file offset it writes at.
        fd = self._output.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
        self._url = None

    # --- requests ----------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            raise StandInError("the Stripe stand-in is not running")
        return self._http

    def _post(self, path: str, form: dict[str, str | int]) -> dict[str, Any]:
        response = self._client().post(path, data={k: str(v) for k, v in form.items()})
        return self._json(response, f"POST {path}")

    def _get(self, path: str, params: dict[str, str | int] | None = None) -> dict[str, Any]:
        response = self._client().get(path, params=params)
        return self._json(response, f"GET {path}")

    @staticmethod
    def _json(response: httpx.Response, what: str) -> dict[str, Any]:
        if not response.is_success:
            raise StandInError(f"{what}: HTTP {response.status_code} {response.text}")
        body = response.json()
        if not isinstance(body, dict):
            raise StandInError(f"{what}: not a JSON object: {response.text}")
        return body

    # --- realistic data ----------------------------------------------------------------

    def customer(self, card: str = "4242424242424242") -> str:
        """A customer whose default payment method (for invoices) is a card with `card`.

        4000000000000341 attaches but declines when charged; 4000000000000002 is declined
        at attach time (StandInError here).
        """
        customer_id = str(self._post("/v1/customers", {"name": "Acme Corp"})["id"])
        method_id = str(
            self._post(
                "/v1/payment_methods",
                {
                    "type": "card",
                    "card[number]": card,
                    "card[exp_month]": 12,
                    "card[exp_year]": time.gmtime().tm_year + 3,
                    "card[cvc]": "123",
                },
            )["id"]
        )
        self._post(f"/v1/payment_methods/{method_id}/attach", {"customer": customer_id})
        self._post(
            f"/v1/customers/{customer_id}",
            {"invoice_settings[default_payment_method]": method_id},
        )
        return customer_id

    def subscription(
        self,
        customer: str,
        *,
        unit_amount_minor: int,
        currency: str = "usd",
        interval: str = "month",
        quantity: int,
    ) -> tuple[str, str]:
        """A one-item subscription on a new plan; returns (subscription id, item id).

        localstripe speaks the legacy plans API: a plan's `amount` is the per-unit price.
        """
        product = self._post("/v1/products", {"name": "licensebot seats"})
        plan = self._post(
            "/v1/plans",
            {
                "product": product["id"],
                "amount": unit_amount_minor,
                "currency": currency,
                "interval": interval,
            },
        )
        sub = self._post(
            "/v1/subscriptions",
            {"customer": customer, "items[0][plan]": plan["id"], "items[0][quantity]": quantity},
        )
        return str(sub["id"]), str(sub["items"]["data"][0]["id"])

    def subscription_item_quantity(self, subscription_id: str) -> int:
        sub = self._get(f"/v1/subscriptions/{subscription_id}")
        quantity = sub["items"]["data"][0]["quantity"]
        # No int() here: a string would mean the proxy's fix-up did not happen.
        if not isinstance(quantity, int):
            raise StandInError(f"quantity came back as {quantity!r}")
        return quantity

    def payment_intents(self, customer: str | None = None) -> list[dict[str, Any]]:
        """Every PaymentIntent localstripe holds, oldest first, optionally one customer's.

        localstripe refuses `?customer=` on this list, so the filter is ours.
        """
        intents: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"limit": 100}
        while True:
            page = self._get("/v1/payment_intents", params)
            intents.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
        if customer is not None:
            intents = [pi for pi in intents if pi.get("customer") == customer]
        return intents

    def requests(self) -> list[dict[str, Any]]:
        """What the proxy saw, oldest first: method, path, query, params (as sent, before
        any were dropped), idempotency_key, replayed, status."""
        response = self._client().get("/_proxy/requests")
        response.raise_for_status()
        log: list[dict[str, Any]] = response.json()
        return log

    def clear_requests(self) -> None:
        self._client().delete("/_proxy/requests").raise_for_status()


if __name__ == "__main__":
    main()
