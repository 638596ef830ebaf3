"""The published site as readers meet it: headless Chromium on the built fixture archive,
served the way GitHub Pages serves a project site (under /news-archive/)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import feedparser
import pytest

from .conftest import FIXTURE, PROJECT, browser_available, build_and_serve

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


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fixture archive, built and served at http://127.0.0.1:PORT/news-archive/."""
    root = tmp_path_factory.mktemp("reader")
    archive = root / "archive"
    shutil.copytree(FIXTURE, archive)
    shutil.copytree(PROJECT / "templates", archive / "templates")
    with (archive / "site.toml").open("a") as settings:  # a search index in parts, merged in the browser
        settings.write("search_part_posts = 3\n")
    yield from build_and_serve(archive, root, "news-archive")


@pytest.fixture(scope="module")
def real_site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real archive (content/ and templates/ of this project), built and served."""
    yield from build_and_serve(PROJECT, tmp_path_factory.mktemp("real"), "ihv-archive")


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    if "search/" in url:  # Pagefind renders its results after loading its index
        page.wait_for_selector(".pagefind-ui__result-link", timeout=15_000)


def test_a_reader_goes_home_post_tag_tag_feed_and_back(site_url: str, page: Page) -> None:
    page.goto(site_url)
    assert page.locator("h1").inner_text() == "News archive"
    page.get_by_role("link", name="New joining link for the Working Together Summit").click()
    assert page.url == site_url + "posts/2024/summit/"
    assert page.locator("h1").inner_text() == "New joining link for the Working Together Summit"
    page.locator(".post .tags").get_by_role("link", name="Events").click()
    assert page.url == site_url + "tags/events/" and page.locator("h1").inner_text() == "Events"
    page.get_by_role("link", name="Subscribe to Events posts (RSS)").click()
    assert page.url == site_url + "tags/events/feed.xml"  # shown as a page (feed.xsl), not raw XML
    assert page.locator("h1").inner_text() == "Events · Fixture & <Archive>"
    assert page.locator(".feed-url").inner_text() == site_url + "tags/events/feed.xml"
    shown = page.locator("h3 a")
    assert shown.all_inner_texts() == ["New joining link for the Working Together Summit"]
    assert shown.first.get_attribute("href") == site_url + "posts/2024/summit/"
    feed = feedparser.parse(page.request.get(page.url).body())  # what a feed reader gets is still the feed
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
    assert meta["og:type"] == "article" and meta["twitter:card"] == "summary_large_image"
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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_of_the_real_archive_scrolls_sideways_at_320_px(
    real_site_url: str, browser: Browser, scheme: str
) -> None:
    """WCAG 2.1 SC 1.4.10 Reflow, which axe does not test: every HTML page, at 320 CSS px."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    sitemap = page.request.get(real_site_url + "sitemap.xml").text()
    urls = [*re.findall(r"<loc>([^<]+)</loc>", sitemap), real_site_url + "404.html"]
    assert len(urls) > 60  # every post, tag, year and page of the archive
    too_wide = {}
    for url in urls:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            too_wide[url.removeprefix(real_site_url)] = width
    context.close()
    assert too_wide == {}


def test_the_query_lives_in_the_address_so_back_brings_the_results_back(site_url: str, page: Page) -> None:
    page.goto(site_url + "search/")
    page.locator(".pagefind-ui__search-input").fill("village")
    results = page.locator(".pagefind-ui__result-link")
    expect(results).to_have_count(1, timeout=15_000)
    expect(page).to_have_url(site_url + "search/?q=village")
    excerpt = page.locator(".pagefind-ui__result-excerpt").first.inner_text()
    assert "min read" not in excerpt and "Safeguarding" not in excerpt  # the article, not its metadata
    results.first.click()
    expect(page).to_have_url(site_url + "posts/2024/manifesto-for-babies/")
    page.go_back()
    expect(page.locator(".pagefind-ui__search-input")).to_have_value("village")
    expect(page.locator(".pagefind-ui__result-link")).to_have_count(1, timeout=15_000)


def test_the_closed_tag_filter_takes_no_room_beside_the_results(site_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    open_page(page, site_url + "search/?q=together")
    tag_filter = page.locator("details.pagefind-ui__filter-block")
    if tag_filter.get_attribute("open") is not None:  # Pagefind opens a filter with few values
        tag_filter.locator("summary").click()
    expect(tag_filter).not_to_have_attribute("open", "")
    panel = page.locator(".pagefind-ui__filter-panel").bounding_box()
    box = page.locator(".pagefind-ui__search-input").bounding_box()
    results = page.locator(".pagefind-ui__results").bounding_box()
    context.close()
    assert panel and box and results
    assert panel["height"] < 80  # one line: "Tag" and its arrow
    assert results["width"] >= box["width"] * 0.95 and results["y"] > panel["y"]


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_indicator_stands_out_3_to_1_in_light_and_dark(
    site_url: str, browser: Browser, scheme: str
) -> None:
    """WCAG 2.2 SC 2.4.13: some part of the indicator (GOV.UK's yellow, or its black bar)
    contrasts at least 3:1 with the page around it."""
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(site_url)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the logo: an ordinary link
    focused = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [document.activeElement.textContent, s.backgroundColor, s.boxShadow,
                           getComputedStyle(document.body).backgroundColor]; }"""
    )
    context.close()
    text, background, shadow, page_colour = focused
    assert "Archive" in text
    indicator = [background, *re.findall(r"rgb\([^)]*\)", shadow)]
    assert max(contrast(colour, page_colour) for colour in indicator) >= 3, (scheme, indicator, page_colour)


def test_print_shows_the_address_and_where_the_post_came_from(site_url: str, page: Page) -> None:
    page.goto(site_url + "posts/2023/covid-lessons/")
    printed = page.locator(".print-only")
    expect(printed).to_be_hidden()
    page.emulate_media(media="print")
    expect(printed).to_have_text("Printed from " + site_url + "posts/2023/covid-lessons/")
    expect(page.locator(".provenance")).to_be_visible()
    expect(page.locator("nav[aria-label=Main]")).to_be_hidden()


def test_a_copy_button_puts_a_feed_address_on_the_clipboard(site_url: str, browser: Browser) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(site_url + "subscribe/")
    page.get_by_role("button", name="Copy the address of the Atom feed of every post").click()
    expect(page.get_by_role("status")).to_have_text("Address copied: " + site_url + "atom.xml")
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()
    assert copied == site_url + "atom.xml"


def test_the_atom_feed_opens_as_a_page_listing_its_posts(site_url: str, page: Page) -> None:
    page.goto(site_url + "atom.xml")
    assert page.locator("h1").inner_text() == "Fixture & <Archive>"
    assert page.locator("h3 a").count() == 4  # feed_length
    page.get_by_role("link", name="What is a feed reader, and how to subscribe").click()
    expect(page).to_have_url(site_url + "subscribe/")
