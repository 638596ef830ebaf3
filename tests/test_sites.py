"""End-to-end builds of whole fixture sites (as Zola's test_site/ and test_sites_invalid/):
each invalid site, built and checked through the command line, fails with exactly the
messages in its expected.txt, no traceback, and nothing written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT

INVALID = sorted((Path(__file__).parent / "fixtures/sites_invalid").iterdir())


def project_from(fixture: Path, into: Path) -> Path:
    """The fixture site with the project's templates, its own overriding them."""
    shutil.copytree(PROJECT / "templates", into / "templates")
    shutil.copytree(fixture, into, dirs_exist_ok=True)
    (into / "expected.txt").unlink()
    return into


@pytest.mark.parametrize("fixture", INVALID, ids=[f.name for f in INVALID])
def test_an_invalid_site_fails_with_exactly_its_expected_messages(fixture: Path, tmp_path: Path) -> None:
    root = project_from(fixture, tmp_path / "site-project")
    expected = (fixture / "expected.txt").read_text().splitlines()
    for command in ("check", "build"):
        result = subprocess.run(
            [sys.executable, str(PROJECT / "build.py"), command], capture_output=True, text=True, cwd=root
        )
        assert result.returncode == 1, (command, result.stdout)
        said = result.stderr.splitlines()
        assert said[:-1] == expected, command
        count = len(expected)
        assert said[-1].startswith(f"{count} problem{'s' if count != 1 else ''} found")
    assert not (root / "site").exists()
    assert not list(root.glob(".site*"))
