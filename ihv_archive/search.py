"""Search: Pagefind indexes the built site (the `pagefind[extended]` package ships its binary).

Only post articles carry `data-pagefind-body`, so navigation and lists stay out of the index;
post tags are a filter. The index is written into the site before it is swapped into place,
so a site and its index are always published together.

The index comes in parts, by whole years (Urls.search_parts), each a Pagefind bundle of its
own; the search page merges them in the browser (Pagefind's mergeIndex). Pagefind can only
index a bundle whole, so parts are what make an edit cheap: only the edited post's part is
indexed again, and the others are carried over from the last build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from functools import lru_cache, partial
from pathlib import Path
from typing import IO

from .children import die_with, may_run_python_in_a_child
from .problems import Problem, ProblemsFound
from .urls import SearchPart, Urls
from .write import Signature, files_intact, holds, keep, signature


def part_files(site_dir: Path, bundle: str) -> dict[str, Signature]:
    """A part's files and their signatures, so that the next build can tell it is intact."""
    folder = site_dir / bundle
    return {
        f.relative_to(site_dir).as_posix(): signature(f) for f in sorted(folder.rglob("*")) if f.is_file()
    }


def keep_part(old_site: Path, staging: Path, recorded: dict[str, Signature]) -> bool:
    """Carry a part of the last build's index over (hard links), if it is still the one it wrote."""
    if not recorded or not files_intact(old_site, recorded):
        return False
    for name in recorded:
        keep(str(old_site / name), str(staging / name), old_site)
    return True


def index_search(
    site_dir: Path,
    language: str,
    parts: Iterable[SearchPart],
    old_site: Path | None = None,
    recorded: dict[str, Signature] | None = None,
    unchanged_years: frozenset[int] = frozenset(),
    at_once: int = 1,
    stop: threading.Event | None = None,
) -> tuple[dict[str, Signature], int]:
    """Index the site's posts part by part, `at_once` parts at a time. A part whose years all
    hold unchanged post pages is carried over from old_site if its recorded files are intact.
    Returns every file of the index with its signature, and how many were written anew.
    Setting `stop` (from another thread) stops Pagefind, and this reports it as a problem."""
    files: dict[str, Signature] = {}
    to_index = []
    for bundle, years in parts:
        mine = {name: sig for name, sig in (recorded or {}).items() if name.startswith(bundle)}
        if old_site is not None and set(years) <= unchanged_years and keep_part(old_site, site_dir, mine):
            files.update(mine)
        else:
            to_index.append((bundle, years))
    run_pagefind(site_dir, language, to_index, at_once, stop)
    made = {name: found for bundle, _ in to_index for name, found in part_files(site_dir, bundle).items()}
    same: set[str] = set()
    if old_site is not None:
        same = same_as_before(site_dir, made, old_site)
        for name in same:  # the old site's very file instead
            os.unlink(site_dir / name)
            keep(str(old_site / name), str(site_dir / name), old_site)
            made[name] = signature(site_dir / name)
    return {**files, **made}, len(made) - len(same)


def same_as_before(folder: Path, names: Iterable[str], old_site: Path) -> set[str]:
    """The index files just made below `folder` whose bytes the old site's file of that name
    already holds. Pagefind makes a part whole, but most of its files come out the same (a
    fragment for each page, by a digest of it): those are kept, not rewritten."""
    return {name for name in names if holds(str(old_site / name), (folder / name).read_bytes())}


@lru_cache(maxsize=1)
def pagefind() -> tuple[str, ...]:
    """The command that runs Pagefind: its binary, found as `python -m pagefind` finds it
    (PAGEFIND_BINARY_PATH, the pagefind_bin packages, PATH), run directly. `python -m
    pagefind` starts a Python only to exec the binary: some 60 ms for each part indexed."""
    try:
        from pagefind.service import get_executable

        binary = get_executable()
    except ImportError:  # not installed: `python -m pagefind` says so, and that is reported
        binary = None
    return (str(binary),) if binary is not None else (sys.executable, "-m", "pagefind")


def run_pagefind(
    site_dir: Path,
    language: str,
    parts: list[SearchPart],
    at_once: int = 1,
    stop: threading.Event | None = None,
) -> None:
    """Pagefind on each part, `at_once` at a time: one Pagefind keeps about one and a half
    cores busy and waits on the disk, so two side by side finish sooner (on two cores, a
    whole index at 10,000 posts: 11-13 s against 13-16 s one part after another). If one
    fails, the others are stopped and the problem reported; so they are when `stop` is set."""
    running: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    try:
        for bundle, years in parts:
            if len(running) >= at_once:
                finish_pagefind(*running.pop(0), stop)
            running.append(start_pagefind(site_dir, language, bundle, years))
        while running:
            finish_pagefind(*running.pop(0), stop)
    finally:
        for process, output in running:
            process.kill()
            process.wait()
            output.close()


def start_pagefind(
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
    output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish_pagefind, or on failure)
    try:
        # Pagefind writes into the staging folder: it must not outlive a killed build (from a
        # process with threads, such as the dev server, a child may run no Python before exec).
        dies_with_us = partial(die_with, os.getpid()) if may_run_python_in_a_child() else None
        process = subprocess.Popen(command, stdout=output, stderr=output, preexec_fn=dies_with_us)
    except OSError as error:
        output.close()
        raise ProblemsFound([Problem("search index", None, f"Pagefind could not run: {error}")]) from None
    return process, output


TIMEOUT_SECONDS = 600
STOP_POLL_SECONDS = 0.2  # how soon a Pagefind is stopped after `stop` is set


def finish_pagefind(
    process: subprocess.Popen[bytes], output: IO[bytes], stop: threading.Event | None = None
) -> None:
    """Wait for a Pagefind started by start_pagefind; report it if it failed, took more than
    ten minutes, or was stopped (by setting `stop`): then it is killed."""
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            try:
                code = process.wait(timeout=STOP_POLL_SECONDS if stop is not None else TIMEOUT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    why = "it was stopped"
                elif time.monotonic() >= deadline:
                    why = "it took more than 10 minutes"
                else:
                    continue
                process.kill()
                process.wait()
                raise ProblemsFound(
                    [Problem("search index", None, f"Pagefind could not run: {why}")]
                ) from None
        output.seek(0)
        said = output.read().decode(errors="replace")
    finally:
        output.close()
    if code != 0:
        detail = said.strip().splitlines()
        missing = "No module named pagefind" in said
        raise ProblemsFound(
            [
                Problem(
                    "search index",
                    None,
                    "Pagefind is not installed"
                    if missing
                    else f"Pagefind failed: {detail[-1] if detail else code}",
                    "python -m pip install 'pagefind[extended]'" if missing else "",
                )
            ]
        )
