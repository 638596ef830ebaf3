"""Shared helpers: a copy of the fixture archive to build, and a reader's-eye link checker."""

from __future__ import annotations

import calendar
import functools
import html
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from ihv_archive.cli import main

PROJECT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "archive"
BASE_URL = "https://example.github.io/news-archive/"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A writable copy of the fixture archive, with the project's real templates."""
    root = tmp_path / "archive"
    shutil.copytree(FIXTURE, root)
    shutil.copytree(PROJECT / "templates", root / "templates")
    return root


def run(root: Path, *args: str) -> int:
    return main(["--root", str(root), *args])


def claimed_days(when: date, precision: str) -> tuple[date, date]:
    """The days a post's date and precision allow: one day, a month or a year."""
    if precision == "day":
        return when, when
    if precision == "month":
        return when.replace(day=1), when.replace(day=calendar.monthrange(when.year, when.month)[1])
    return date(when.year, 1, 1), date(when.year, 12, 31)


@pytest.fixture
def built(archive: Path) -> Path:
    """The fixture archive built into <archive>/site; returns the site folder."""
    assert run(archive, "build") == 0
    return archive / "site"


@contextmanager
def lock_held_elsewhere(lock: Path) -> Iterator[None]:
    """The lock file held by another process (flock), as by another build, until the block ends."""
    script = f"import fcntl, sys\nf = open({str(lock)!r}, 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.communicate("")


def html_files(site: Path) -> Iterator[Path]:
    """The readers' pages: not the CMS's (admin/, tested in test_admin.py)."""
    yield from sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "admin")


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def page_url(site: Path, file: Path, base_url: str = BASE_URL) -> str:
    """The URL a reader's browser shows for a built file."""
    rel = file.relative_to(site).as_posix()
    return base_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)


def file_for(site: Path, url: str, base_url: str = BASE_URL) -> Path | None:
    """The file GitHub Pages would serve for an absolute URL on our site, or None."""
    if not url.startswith(base_url):
        return None
    rel = unquote(urlsplit(url).path)[len(urlsplit(base_url).path) :]
    target = site / rel
    if rel == "" or rel.endswith("/"):
        target = target / "index.html"
    return target if target.is_file() else None


def links_of(page: BeautifulSoup) -> Iterator[str]:
    for tag, attr in (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src")):
        for element in page.find_all(tag):
            if element.get(attr):
                yield element[attr]


def broken_links(site: Path, base_url: str = BASE_URL) -> list[str]:
    """Every internal link or asset, on every page, that a reader could not follow."""
    broken = []
    host = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    for file in html_files(site):
        here = page_url(site, file, base_url)
        for link in links_of(soup(file)):
            url = urljoin(here, link)
            if not url.startswith(host):
                continue  # another site
            target = file_for(site, url.split("#")[0], base_url)
            if target is None:
                broken.append(f"{file.relative_to(site)}: {link}")
                continue
            fragment = urlsplit(url).fragment
            if fragment and target.suffix == ".html" and soup(target).find(id=unquote(fragment)) is None:
                broken.append(f"{file.relative_to(site)}: {link} (no id {fragment!r})")
    return broken


def tree_bytes(folder: Path, search_index: bool = True) -> dict[str, bytes]:
    """Every file's bytes, by path. Compare two *different* builds with search_index=False:
    Pagefind's filter and metadata files differ between identical runs (upstream: only its
    fragment files are stable), while everything we write is byte for byte the same."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (search_index or not p.relative_to(folder).as_posix().startswith("pagefind/"))
    }


def cold_build(archive: Path, tmp_path: Path, *args: str) -> dict[str, bytes]:
    """The reference: the same project copied without its cache or site, built from nothing."""
    fresh = tmp_path / f"cold-{time.monotonic_ns()}"
    shutil.copytree(archive, fresh, ignore=shutil.ignore_patterns(".cache", "site"))
    assert run(fresh, "build", "--no-search", *args) == 0
    result = tree_bytes(fresh / "site")
    shutil.rmtree(fresh)
    return result


def search_index_is_whole(site: Path) -> bool:
    """The index Pagefind wrote belongs to this site: every part the search page names has an
    entry, and every entry names a metadata file that exists."""
    import json
    import re

    search_page = (site / "search/index.html").read_text()
    bundles = re.findall(r'data-bundle="([^"]+)"', search_page) + json.loads(
        html.unescape(re.search(r'data-merge="([^"]*)"', search_page).group(1))  # type: ignore[union-attr]
    )
    base_path = bundles[0][: bundles[0].index("pagefind/")]
    parts = [site / bundle[len(base_path) :] for bundle in bundles]
    entries = sorted(site.glob("pagefind/*/pagefind-entry.json"))
    if not parts or sorted(part / "pagefind-entry.json" for part in parts) != entries:
        return False  # a part missing, or one the page does not name
    return all(
        (part / f"pagefind.{lang['hash']}.pf_meta").is_file()
        for part in parts
        for lang in json.loads((part / "pagefind-entry.json").read_text())["languages"].values()
    )


# --- the browser: Debian's Chromium driven by Playwright (never a browser it downloads) ---

CHROMIUM = os.environ.get("IHV_CHROMIUM", "/usr/bin/chromium")  # GitHub's runners have Google Chrome
# Headless, and none of the background traffic this machine's closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build_and_serve(project: Path, root: Path, sub_path: str) -> Iterator[str]:
    """The project built into <root>/docroot/<sub_path> and served the way GitHub Pages serves
    a project site: its URL, http://127.0.0.1:PORT/<sub_path>/."""
    docroot = root / "docroot"
    docroot.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(docroot))
    )
    url = f"http://127.0.0.1:{server.server_address[1]}/{sub_path}/"
    assert run(project, "build", "--base-url", url, "--out", str(docroot / sub_path)) == 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield url
    server.shutdown()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll until the condition holds, and return what it found; fail, saying what was
    awaited, if it never does (only a failure waits the whole timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
