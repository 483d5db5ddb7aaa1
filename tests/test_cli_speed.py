"""The command line starts quickly: a quote loads no Slack, HTTP-server or migration code,
and a database already at the head revision is not handed to Alembic again."""

from __future__ import annotations

import gc
import json
import subprocess
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from bot.cli import main
from bot.db import alembic_config, applied_revisions, head_revision, upgrade
from tests.test_cli import ACCOUNTS, licensebot, write_accounts

# What a data command has no use for; Alembic only when the database is behind.
SLACK_AND_MIGRATIONS = {"slack_bolt", "slack_sdk", "aiohttp", "alembic", "mako", "apscheduler"}


def imported_packages(result: subprocess.CompletedProcess[str]) -> set[str]:
    """Top-level packages a run imported, from its -X importtime report on stderr."""
    packages = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            packages.add(name.split(".")[0])
    assert packages, result.stderr  # the report is there: the check below means something
    return packages


def profiled(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = licensebot(workdir, *args, extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_quote_on_an_up_to_date_database_loads_no_slack_or_alembic(tmp_path: Path) -> None:
    file = write_accounts(tmp_path / "accounts.yml", ACCOUNTS)
    assert licensebot(tmp_path, "accounts", "import", str(file)).returncode == 0

    result = profiled(tmp_path, "quote", "acme", "--add", "3", "--json")

    assert json.loads(result.stdout)["total_licenses"] == 13
    assert imported_packages(result) & SLACK_AND_MIGRATIONS == set()


def test_the_first_command_on_a_new_database_still_migrates_it(tmp_path: Path) -> None:
    result = profiled(tmp_path, "accounts", "import", str(write_accounts(tmp_path / "a.yml", [])))
    assert "alembic" in imported_packages(result)
    url = f"sqlite:///{tmp_path / 'licensebot.db'}"
    assert applied_revisions(url) == [head_revision()]


def test_help_loads_neither_the_database_nor_the_settings(tmp_path: Path) -> None:
    result = profiled(tmp_path, "--help")
    assert imported_packages(result) & {"sqlalchemy", "pydantic", "yaml", "asyncio"} == set()


def test_the_head_read_from_the_files_is_alembics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'licensebot.db'}"
    assert head_revision() == ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def test_a_database_behind_the_head_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'licensebot.db'}"
    head = head_revision()
    assert head is not None
    script = ScriptDirectory.from_config(alembic_config(url))
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    command.upgrade(alembic_config(url), previous)
    assert applied_revisions(url) == [previous]

    upgrade(url)

    assert applied_revisions(url) == [head]
    upgrade(url)  # and again: nothing to do
    assert applied_revisions(url) == [head]


def test_a_command_run_in_process_leaves_the_garbage_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One-shot commands pause the collector while they run (see bot.cli).
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'licensebot.db'}")
    assert gc.isenabled()

    assert main(["db", "upgrade"]) == 0

    assert "up to date" in capsys.readouterr().out
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_impossible_date_in_the_accounts_file_is_one_line_and_imports_nothing(
    tmp_path: Path,
) -> None:
    from tests.test_cli import assert_one_line_error, licensebot

    path = tmp_path / "accounts.yml"
    path.write_text(
        "accounts:\n  - id: acme\n    name: Acme\n    plan: pro\n    billing_interval: monthly\n"
        "    licenses: 3\n    period_start: 2026-13-45\n",
        encoding="utf-8",
    )
    result = licensebot(tmp_path, "accounts", "import", str(path))
    assert_one_line_error(result)
    assert "nothing was imported" in result.stderr
