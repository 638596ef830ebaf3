"""Search: Pagefind indexes the built site (the `pagefind[extended]` package ships its binary).

Only post articles carry `data-pagefind-body`, so navigation and lists stay out of the index;
post tags are a filter. The index is written into the site before it is swapped into place,
so a site and its index are always published together.

The index comes in parts, by whole years (Urls.search_parts), each a Pagefind bundle of its
own; the search page merges them in the browser (Pagefind's mergeIndex). Pagefind can only
index a bundle whole, so parts are what make an edit cheap: only the edited post's part is
indexed again, and the others are carried over from the last build. Within that part,
Pagefind is given the unchanged pages' fragments from the last index (seed_fragments), so
that it makes only the changed pages'.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from .children import die_with, may_run_python_in_a_child
from .problems import Problem, ProblemsFound
from .urls import SearchPart, Urls
from .write import Signature, files_intact, holds, keep, signature, write_file


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
    kept = index_parts(site_dir, language, to_index, at_once, old_site, recorded, stop)
    made = {name: found for bundle, _ in to_index for name, found in part_files(site_dir, bundle).items()}
    same = set(kept)  # the seeds that stood are the old site's files already
    if old_site is not None:
        same |= same_as_before(site_dir, made.keys() - kept, old_site)
        for name in same - kept:  # the old site's very file instead
            os.unlink(site_dir / name)
            keep(str(old_site / name), str(site_dir / name), old_site)
            made[name] = signature(site_dir / name)
    return {**files, **made}, len(made) - len(same)


def index_parts(
    folder: Path,
    language: str,
    parts: list[SearchPart],
    at_once: int = 1,
    old_site: Path | None = None,
    recorded: Mapping[str, Signature] | None = None,
    stop: threading.Event | None = None,
) -> set[str]:
    """Pagefind on each part (run_pagefind). With the last index (old_site's files, as
    `recorded`), each part is first seeded with the fragments of its pages that have not
    changed (seed_fragments); a part whose seeds do not stand is indexed again from nothing.
    Returns the files that are the old site's very files now (the seeds that stood)."""
    kept: set[str] = set()
    if old_site is None or not recorded:
        run_pagefind(folder, language, parts, at_once, stop)
        return kept
    seeds = {bundle: seed_fragments(folder, bundle, old_site, recorded) for bundle, _ in parts}
    run_pagefind(folder, language, parts, at_once, stop)
    again = []
    for bundle, years in parts:
        if not seeds[bundle]:
            continue
        if seeds_stand(folder, bundle, seeds[bundle], old_site):
            for name in seeds[bundle]:  # the last index's very file, where Pagefind found its seed
                os.unlink(folder / name)
                keep(str(old_site / name), str(folder / name), old_site)
            kept |= seeds[bundle].keys()
        else:
            shutil.rmtree(folder / bundle)
            again.append((bundle, years))
    run_pagefind(folder, language, again, at_once, stop)
    return kept


# Pagefind keeps each page's text in a fragment file named by the first 7 hex digits of a
# digest of it (more digits only for pages of one run whose 7 are the same), and does not
# make a fragment whose file is there already. Making them is about half of its time here:
# gzipping each, and its file (a new file costs this disk some 0.4 ms, a hard link 0.01 ms).
# So a part indexed again gets, for each page unchanged since the last index, a file under
# the name of that page's fragment, and Pagefind makes only the changed pages' (a year's
# part at 10,000 posts: about 0.7 s instead of 1.0-1.3 s). The seeds are names for one
# empty file of ours, not links to the live site's files, which Pagefind must never be able
# to write into; once a seed is found to stand, the last index's file takes its place.
FRAGMENTS = "fragment/"
DIGEST_DIGITS = 7
_FRAGMENT_START = b'pagefind_dcd{"url":"'


def fragments_of(bundle: str) -> str:
    """Where a part's fragment files are, below the site: 'pagefind/2019/fragment/'."""
    return f"{bundle.rstrip('/')}/{FRAGMENTS}"


def fragment_digest(name: str) -> str:
    """The digest in a fragment file's name: 'en-gb_c056f43.pf_fragment' -> 'c056f43'."""
    return name.rsplit("/", 1)[-1].split(".", 1)[0].rpartition("_")[2]


def fragment_page(fragment: bytes) -> str | None:
    """The page a fragment file holds (gzipped JSON that begins with the page's URL), as the
    path of its file below the site; None if it is not a fragment as Pagefind 1.x writes
    them. The file's first kilobyte is enough."""
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(fragment, 2048)
    except zlib.error:
        return None
    url, quote, _ = head[len(_FRAGMENT_START) :].partition(b'"')
    if not head.startswith(_FRAGMENT_START) or not quote:
        return None
    path = unquote(url.decode("utf-8", "replace")).lstrip("/")
    return path + "index.html" if path.endswith("/") or not path else path


def seed_fragments(
    folder: Path, bundle: str, old_site: Path, recorded: Mapping[str, Signature]
) -> dict[str, str]:
    """Seed a part about to be indexed again in `folder` with the last index's fragment of each
    of its pages that is there unchanged: the very file the old site has (a hard link). Only
    fragments still as the last build recorded them, and named by 7 digits that no other of
    them shares. Returns the page of each fragment seeded, by its name."""
    top, old, below = str(folder), str(old_site), fragments_of(bundle)
    fragments = {name: found for name, found in recorded.items() if name.startswith(below)}
    digits = Counter(fragment_digest(name)[:DIGEST_DIGITS] for name in fragments)
    seeded: dict[str, str] = {}
    for name, found in fragments.items():
        digest = fragment_digest(name)
        if len(digest) != DIGEST_DIGITS or digits[digest] > 1:
            continue  # two pages shared these digits: which one keeps them may change
        try:
            with open(f"{old}/{name}", "rb") as file:
                stat = os.fstat(file.fileno())
                if (stat.st_size, stat.st_mtime_ns, stat.st_ino) != found:
                    continue
                page = fragment_page(file.read(1024))
            if page is not None and os.path.samefile(f"{top}/{page}", f"{old}/{page}"):
                seeded[name] = page
        except OSError:  # a page that is not in this part (or no more), or not as recorded
            continue
    if seeded:
        write_file(top, below + ".seed", b"")
        for name in seeded:
            os.link(f"{top}/{below}.seed", f"{top}/{name}")
        os.unlink(f"{top}/{below}.seed")
    return seeded


def seeds_stand(folder: Path, bundle: str, seeded: dict[str, str], old_site: Path) -> bool:
    """After Pagefind has indexed a seeded part: did this run make each seed's fragment, as the
    last index has it, for its page? Not if a seed was written into, nor if it made another
    fragment for a seed's page (its version or settings changed what it writes), nor one named
    with the same 7 digits as a seed (two pages shared them, and the seed may be the other
    page's); nor if another version of Pagefind ran."""
    try:
        files = {(found.st_ino, found.st_size) for found in (os.stat(folder / name) for name in seeded)}
    except OSError:
        return False
    if len(files) != 1 or files.pop()[1] != 0:
        return False
    pages = set(seeded.values())
    digits = {fragment_digest(name) for name in seeded}
    below = fragments_of(bundle)
    for file in (folder / below).iterdir():
        if below + file.name in seeded:
            continue
        if fragment_digest(file.name)[:DIGEST_DIGITS] in digits or fragment_page(file.read_bytes()) in pages:
            return False
    made_by = pagefind_version(folder / bundle)
    return made_by is not None and made_by == pagefind_version(old_site / bundle)


def pagefind_version(part: Path) -> str | None:
    """The version of Pagefind that made a part of the index, as its entry file says."""
    try:
        version = json.loads((part / "pagefind-entry.json").read_bytes())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return version if isinstance(version, str) else None


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
