"""In a real browser: headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import browser_available
from .test_serve import SUMMIT, SUMMIT_URL, Server, start

if not browser_available():
    if os.environ.get("CI"):
        pytest.fail("Chromium or Playwright is missing on CI: .ci/run must install them", pytrace=False)
    pytest.skip("needs Debian's chromium and the playwright package", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture
def served(archive: Path) -> Iterator[Server]:
    running = start(archive)
    yield running
    running.process.send_signal(signal.SIGINT)
    running.process.wait(timeout=10)


def test_the_page_reloads_by_itself_after_an_edit(archive: Path, served: Server, page: Page) -> None:
    page.goto(f"http://127.0.0.1:{served.port}{SUMMIT_URL}")
    assert page.locator("h1").inner_text() == "New joining link for the Working Together Summit"
    page.evaluate("window.notReloadedYet = true")
    post = archive / SUMMIT
    post.write_text(post.read_text().replace("title: New joining link", "title: Reloaded joining link"))
    page.wait_for_function(
        "document.querySelector('h1') && document.querySelector('h1').textContent.startsWith('Reloaded')",
        timeout=20_000,
    )
    assert page.evaluate("window.notReloadedYet === undefined")  # a fresh page, loaded by itself


def test_the_problems_show_without_javascript_and_clear_when_fixed(
    archive: Path, served: Server, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    post = archive / SUMMIT
    good = post.read_text()
    post.write_text(
        good.replace("title: New joining link for the Working Together Summit", "title: [unclosed")
    )
    banner = page.locator("#build-problems")
    for _ in range(100):
        page.goto(f"http://127.0.0.1:{served.port}/news-archive/")
        if banner.count():
            break
        page.wait_for_timeout(200)
    assert "content/posts/2024/summit.md:2: front matter is not valid YAML" in banner.inner_text()
    post.write_text(good)
    for _ in range(100):
        page.goto(f"http://127.0.0.1:{served.port}/news-archive/")
        if not banner.count():
            break
        page.wait_for_timeout(200)
    assert banner.count() == 0
    context.close()


def test_a_mistake_saved_while_reading_further_down_is_shown_in_view(
    archive: Path, served: Server, browser: Browser
) -> None:
    """The page reloads where the editor was reading: the problems box must be there too."""
    context = browser.new_context(viewport={"width": 800, "height": 300})
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{served.port}{SUMMIT_URL}")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert page.evaluate("window.scrollY") > 300
    page.evaluate("window.notReloadedYet = true")
    post = archive / SUMMIT
    post.write_text(
        post.read_text().replace(
            "title: New joining link for the Working Together Summit", "title: [unclosed"
        )
    )
    # Reloaded by itself, with the box, and still where the editor was reading (a condition
    # polled across reloads: a second rebuild may reload the page again).
    page.wait_for_function(
        "window.notReloadedYet === undefined && !!document.getElementById('build-problems')"
        " && window.scrollY > 300",
        timeout=20_000,
    )
    expect(page.locator("#build-problems")).to_be_in_viewport()
    context.close()
