"""A large accounts file for timing `licensebot accounts import`.

    python -m tests.perf.accounts_file 100000 accounts.yml [--changed-every K]

Half the accounts are linked to a workspace; plans, intervals, currencies and anchors
vary; each has two admins and a CSM. `--changed-every K` renames, adds a license to and
adds an admin to every K-th account (a file to re-import over the first one).
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

PLANS = ("essential", "pro", "enterprise")


def account(index: int, changed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"acct-{index:06d}",
        "name": f"Customer {index}" + (" (renamed)" if changed else ""),
        "plan": PLANS[index % 3],
        "billing_interval": "monthly" if index % 4 else "annual",
        "licenses": 5 + index % 50 + (1 if changed else 0),
        "currency": "EUR" if index % 5 == 0 else "USD",
        "price_per_license": f"{20 + index % 30}.50",
        "period_start": f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}T00:00:00Z",
        "admins": [f"U{index:08d}", f"admin{index}@example.com"]
        + ([f"U9{index:07d}"] if changed else []),
        "csm": {"name": "Casey Doe", "email": "casey@vendor.example", "slack_user_id": "U0CSM"},
    }
    if index % 2:
        entry["slack_team_id"] = f"T{index:08d}"
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.accounts_file", description=__doc__)
    parser.add_argument("count", type=int)
    parser.add_argument("path")
    parser.add_argument("--changed-every", type=int, default=0, metavar="K")
    args = parser.parse_args()
    every = args.changed_every
    accounts = [account(i, bool(every) and i % every == 0) for i in range(args.count)]
    dumper = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper
    with open(args.path, "w", encoding="utf-8") as out:
        yaml.dump({"accounts": accounts}, out, Dumper=dumper, sort_keys=False)


if __name__ == "__main__":
    main()
