"""Search: Pagefind (its binary ships in `pagefind[extended]`) indexes the staged site.

Only post articles carry `data-pagefind-body`. The index comes in parts by whole years
(Urls.search_parts), merged by the search page, so an edit indexes only its part again.
Pagefind writes only below the staging folder write.py hands it, before the swap.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import IO

from .problems import ProblemsFound
from .render import die_with_parent
from .urls import SearchPart, Urls

TIMEOUT_SECONDS = 600


@lru_cache(maxsize=1)
def pagefind() -> tuple[str, ...]:
    """The command that runs Pagefind: its binary as `python -m pagefind` finds it, run directly."""
    try:
        from pagefind.service import get_executable

        binary = get_executable()
    except ImportError:  # not installed: `python -m pagefind` says so, and that is reported
        binary = None
    return (str(binary),) if binary is not None else (sys.executable, "-m", "pagefind")


def index_parts(site_dir: Path, language: str, parts: list[SearchPart], at_once: int = 1) -> None:
    """Pagefind on each part, `at_once` at a time (one keeps about one and a half cores busy and
    waits on the disk, so two side by side finish sooner). If one fails, the others are
    stopped and the problem reported."""
    running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    try:
        for bundle, years in parts:
            if len(running) >= at_once:
                finish(*running.pop(0))
            running.append(start(site_dir, language, bundle, years))
        while running:
            finish(*running.pop(0))
    finally:
        for process, output in running:
            process.kill()
            process.wait()
            output.close()


def start(
    site_dir: Path, language: str, bundle: str, years: tuple[int, ...]
) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    command = [
        *pagefind(),
        "--site",
        str(site_dir),
        "--force-language",
        language.lower(),
        "--glob",  # this part's post pages: only posts carry data-pagefind-body
        Urls.post_pages_of(years),
        "--output-subdir",
        bundle,
    ]
    # What it prints goes to a file: a pipe could fill while another part is waited for.
    output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish, or on failure)
    try:
        process = subprocess.Popen(command, stdout=output, stderr=output, preexec_fn=die_with_parent)
    except OSError as error:
        output.close()
        raise ProblemsFound.one("search index", None, f"Pagefind could not run: {error}") from None
    return process, output


def finish(process: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    """Wait for a Pagefind; report it if it failed or took more than ten minutes."""
    with output:
        try:
            code = process.wait(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise ProblemsFound.one(
                "search index", None, "Pagefind could not run: it took more than 10 minutes"
            ) from None
        output.seek(0)
        said = output.read().decode(errors="replace")
    if code != 0:
        detail = said.strip().splitlines()
        missing = "No module named pagefind" in said
        raise ProblemsFound.one(
            "search index",
            None,
            "Pagefind is not installed" if missing else f"Pagefind failed: {detail[-1] if detail else code}",
            "python -m pip install 'pagefind[extended]'" if missing else "",
        )
