"""Search: Pagefind (its binary ships in `pagefind[extended]`) indexes the staged site.

Only post articles carry `data-pagefind-body`. The index comes in parts by whole years
(Urls.search_parts), merged by the search page, so an edit indexes only its part again.
Pagefind writes only below the staging folder write.py hands it, before the swap.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from .problems import ProblemsFound
from .urls import SearchPart, Urls

TIMEOUT_SECONDS = 600
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In Pagefind: be killed with the build that started it (Linux), so that a killed build
    leaves nothing writing into its staging folder."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@lru_cache(maxsize=1)
def pagefind() -> tuple[str, ...]:
    """The command that runs Pagefind: its binary as `python -m pagefind` finds it, run directly."""
    try:
        from pagefind.service import get_executable

        binary = get_executable()
    except ImportError:  # not installed: `python -m pagefind` says so, and that is reported
        binary = None
    return (str(binary),) if binary is not None else (sys.executable, "-m", "pagefind")


def index_parts(site_dir: Path, language: str, parts: list[SearchPart]) -> None:
    """Pagefind on each part, one after another; one that fails is reported as a problem."""
    for bundle, years in parts:
        glob = Urls.post_pages_of(years)  # this part's post pages: only posts carry data-pagefind-body
        options = ["--force-language", language.lower(), "--glob", glob, "--output-subdir", bundle]
        try:
            done = subprocess.run(
                [*pagefind(), "--site", str(site_dir), *options],
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                preexec_fn=die_with_parent,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            why = "it took more than 10 minutes" if isinstance(error, subprocess.TimeoutExpired) else error
            raise ProblemsFound.one("search index", None, f"Pagefind could not run: {why}") from None
        if done.returncode != 0:
            said = (done.stdout + done.stderr).decode(errors="replace")
            detail = said.strip().splitlines()
            missing = "No module named pagefind" in said
            raise ProblemsFound.one(
                "search index",
                None,
                "Pagefind is not installed"
                if missing
                else f"Pagefind failed: {detail[-1] if detail else done.returncode}",
                "python -m pip install 'pagefind[extended]'" if missing else "",
            )
