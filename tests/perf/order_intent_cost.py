"""What writing Order Now down before its ack costs: `outbox.hold`, timed on a database.

    python -m tests.perf.order_intent_cost sqlite:////tmp/cost.db
    python -m tests.perf.order_intent_cost postgresql://postgres@127.0.0.1:5432/cost

The database is migrated first; each call is one short insert transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime

from bot.bootstrap import open_services
from bot.config import Settings
from bot.services.outbox import PlaceOrder, hold


async def measure(url: str, calls: int) -> list[float]:
    async with open_services(Settings(_env_file=None, database_url=url)) as ctx:  # type: ignore[call-arg]
        intent = PlaceOrder(
            team_id="T0ACME",
            account_id="acme",
            user_id="U0ANN",
            add=3,
            idempotency_key="add-cost",
            quote=None,
            confirmed_at=datetime.now(UTC),
            modal_id="cost",
        )
        for _ in range(50):  # warm the pool and the statement cache
            await hold(ctx, intent)
        spent = []
        for _ in range(calls):
            started = time.perf_counter()
            await hold(ctx, intent)
            spent.append(time.perf_counter() - started)
        return sorted(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    spent = asyncio.run(measure(args.database_url, args.calls))
    p50, p99 = spent[len(spent) // 2], spent[int(len(spent) * 0.99)]
    print(
        f"{args.database_url.split(':')[0]} outbox.hold x{len(spent)}: p50 {p50 * 1e3:.2f} ms, "
        f"p99 {p99 * 1e3:.2f} ms, mean {statistics.mean(spent) * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
