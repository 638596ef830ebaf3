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
from collections.abc import Iterable
from functools import lru_cache, partial
from pathlib import Path

from .children import die_with, may_run_python_in_a_child
from .problems import Problem, ProblemsFound
from .urls import SearchPart, Urls
from .write import Signature, files_intact, keep, signature


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
) -> tuple[dict[str, Signature], int]:
    """Index the site's posts part by part. A part whose years all hold unchanged post pages
    is carried over from old_site if its recorded files are intact. Returns every file of the
    index with its signature, and how many of them were written anew."""
    files: dict[str, Signature] = {}
    fresh = 0
    for bundle, years in parts:
        mine = {name: sig for name, sig in (recorded or {}).items() if name.startswith(bundle)}
        if old_site is not None and set(years) <= unchanged_years and keep_part(old_site, site_dir, mine):
            files.update(mine)
            continue
        run_pagefind(site_dir, language, bundle, years)
        made = part_files(site_dir, bundle)
        files.update(made)
        fresh += len(made)
    return files, fresh


@lru_cache(maxsize=1)
def pagefind() -> tuple[str, ...]:
    """The command that runs Pagefind: its binary, found as `python -m pagefind` finds it
    (PAGEFIND_BINARY_PATH, the pagefind_bin packages, PATH), run directly. `python -m
    pagefind` starts a Python only to exec the binary: some 60 ms for each part indexed."""
    try:
        from pagefind.service import get_executable
    except ImportError:  # not installed: `python -m pagefind` then says so, and it is reported
        return (sys.executable, "-m", "pagefind")
    binary = get_executable()
    return (str(binary),) if binary is not None else (sys.executable, "-m", "pagefind")


def run_pagefind(site_dir: Path, language: str, bundle: str, years: tuple[int, ...]) -> None:
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
    try:
        # Pagefind writes into the staging folder: it must not outlive a killed build (from a
        # process with threads, such as the dev server, a child may run no Python before exec).
        dies_with_us = partial(die_with, os.getpid()) if may_run_python_in_a_child() else None
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, preexec_fn=dies_with_us)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProblemsFound([Problem("search index", None, f"Pagefind could not run: {error}")]) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        missing = "No module named pagefind" in result.stderr
        raise ProblemsFound(
            [
                Problem(
                    "search index",
                    None,
                    "Pagefind is not installed"
                    if missing
                    else f"Pagefind failed: {detail[-1] if detail else result.returncode}",
                    "python -m pip install 'pagefind[extended]'" if missing else "",
                )
            ]
        )
