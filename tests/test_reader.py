"""The published site as readers meet it: headless Chromium on the built fixture archive,
served the way GitHub Pages serves a project site (under /news-archive/)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator

import feedparser
import pytest

from .conftest import FIXTURE, PROJECT, browser_available, run

if not browser_available():
    pytest.skip("needs Debian's chromium and the playwright package", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from .test_validators import needs  # noqa: E402

AXE = PROJECT / "node_modules/axe-core/axe.min.js"
SCREENSHOTS = PROJECT / "screenshots"  # git-ignored: for a person to look at
PAGE_TYPES = {
    "home": "",
    "post": "posts/2024/manifesto-for-babies/",
    "tag": "tags/safeguarding/",
    "tags index": "tags/",
    "archive": "archive/",
    "year archive": "archive/2023/",
    "search": "search/?q=village",
    "subscribe": "subscribe/",
    "404": "404.html",
}


class Pages(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fixture archive, built and served at http://127.0.0.1:PORT/news-archive/."""
    root = tmp_path_factory.mktemp("reader")
    archive = root / "archive"
    shutil.copytree(FIXTURE, archive)
    shutil.copytree(PROJECT / "templates", archive / "templates")
    with (archive / "site.toml").open("a") as settings:  # a search index in parts, merged in the browser
        settings.write("search_part_posts = 3\n")
    docroot = root / "docroot"
    docroot.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Pages, directory=str(docroot))
    )
    port = server.server_address[1]
    assert (
        run(
            archive,
            "build",
            "--base-url",
            f"http://127.0.0.1:{port}/news-archive/",
            "--out",
            str(docroot / "news-archive"),
        )
        == 0
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/news-archive/"
    server.shutdown()


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    if "search/" in url:  # Pagefind renders its results after loading its index
        page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)


def test_a_reader_goes_home_post_tag_tag_feed_and_back(site_url: str, page: Page) -> None:
    page.goto(site_url)
    assert page.locator("h1").inner_text() == "Latest news"
    page.get_by_role("link", name="New joining link for the Working Together Summit").click()
    assert page.url == site_url + "posts/2024/summit/"
    assert page.locator("h1").inner_text() == "New joining link for the Working Together Summit"
    page.locator(".post .tags").get_by_role("link", name="Events").click()
    assert page.url == site_url + "tags/events/" and page.locator("h1").inner_text() == "Events"
    with page.expect_response(site_url + "tags/events/feed.xml") as response_info:
        page.get_by_role("link", name="Subscribe to Events posts (RSS)").click()
    feed = feedparser.parse(response_info.value.body())
    assert not feed.bozo and [e.title for e in feed.entries] == [
        "New joining link for the Working Together Summit"
    ]
    page.go_back()
    assert page.url == site_url + "tags/events/" and page.locator("h1").inner_text() == "Events"


def test_search_finds_the_one_post_whose_body_has_the_word(site_url: str, page: Page) -> None:
    page.goto(site_url + "search/")
    page.locator(".pagefind-ui__search-input").fill("village")
    results = page.locator(".pagefind-ui__result-link")
    expect(results).to_have_count(1, timeout=15_000)  # results render one part at a time
    assert results.first.get_attribute("href") == "/news-archive/posts/2024/manifesto-for-babies/"
    assert "village" in page.locator(".pagefind-ui__result-excerpt").first.inner_text()
    assert page.get_by_text("tag", exact=False).count() > 0  # the tag filter is offered
    filters = page.locator(".pagefind-ui__filter-panel").inner_text()
    assert "Policy & guidance" in filters and "Safeguarding" in filters  # by the manifesto's tags


def test_search_finds_posts_in_every_part_of_the_index(site_url: str, page: Page) -> None:
    """The fixture's index is in parts (search_part_posts = 3): one per year. A word from a
    2023 post is found through the part merged into the newest one."""
    page.goto(site_url + "search/")
    merged = json.loads(page.locator("#search").get_attribute("data-merge") or "[]")
    assert merged == ["/news-archive/pagefind/2023/"]
    page.locator(".pagefind-ui__search-input").fill("multi-agency")
    results = page.locator(".pagefind-ui__result-link")
    expect(results).to_have_count(1, timeout=15_000)
    assert results.first.get_attribute("href") == "/news-archive/posts/2023/working-together/"


def test_search_indexes_posts_only_not_navigation(site_url: str, page: Page) -> None:
    page.goto(site_url + "search/?q=Latest")  # a word in every page's navigation, in no post
    expect(page.locator(".pagefind-ui__message")).to_contain_text("No results", timeout=15_000)
    assert page.locator(".pagefind-ui__result").count() == 0


def test_without_javascript_the_search_page_points_to_topics_and_years(
    site_url: str, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site_url + "search/")
    text = page.locator("main").inner_text()
    assert "by topic or by year" in " ".join(text.split())
    main = page.locator("main")
    assert main.get_by_role("link", name="topic", exact=True).get_attribute("href") == "/news-archive/tags/"
    assert main.get_by_role("link", name="year", exact=True).get_attribute("href") == "/news-archive/archive/"
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_axe_finds_no_accessibility_violations(
    site_url: str, browser: Browser, kind: str, scheme: str
) -> None:
    needs(AXE, "axe-core (npm)")
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    open_page(page, site_url + PAGE_TYPES[kind])
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    violations = [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in result["violations"]
    ]
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{kind.replace(' ', '-')}-{scheme}.png"), full_page=True)
    context.close()
    assert violations == []


@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_no_horizontal_scroll_on_a_phone_or_at_200_percent_text(
    site_url: str, browser: Browser, kind: str
) -> None:
    for width, text_size in ((360, "100%"), (640, "200%")):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        open_page(page, site_url + PAGE_TYPES[kind])
        page.evaluate(
            f"document.documentElement.style.fontSize = '{text_size}'"
        )  # reading scrollWidth lays out
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if width == 360:
            page.screenshot(path=str(SCREENSHOTS / f"{kind.replace(' ', '-')}-phone.png"), full_page=True)
        context.close()
        assert overflow <= 0, (kind, width, text_size, overflow)


def test_post_pages_carry_sharing_metadata_and_structured_data(site_url: str, page: Page) -> None:
    page.goto(site_url + "posts/2024/manifesto-for-babies/")
    meta = {
        name: page.locator(f"meta[property='{name}'], meta[name='{name}']").first.get_attribute("content")
        for name in ("og:type", "og:title", "og:url", "twitter:card", "article:published_time")
    }
    assert meta["og:type"] == "article" and meta["twitter:card"] == "summary"
    assert meta["og:url"] == site_url + "posts/2024/manifesto-for-babies/"
    data = json.loads(page.locator("script[type='application/ld+json']").inner_text())
    assert (
        data["@type"] == "NewsArticle"
        and data["headline"] == "Babies & <toddlers>: the “Manifesto” costs £1bn"
    )
    assert data["datePublished"] == "2024-06-10T00:00:00+01:00" and data["publisher"]["name"]
    related = page.locator(".related a")
    assert 1 <= related.count() <= 3
    assert page.locator(".post-extras").get_by_role("link", name="Safeguarding news (RSS)").count() == 1
