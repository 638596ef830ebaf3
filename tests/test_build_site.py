"""End to end: build the fixture archive under a GitHub Pages sub-path and read the result
the way readers, their browsers and their feed readers will."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
from bs4 import BeautifulSoup

from .conftest import BASE_URL, PROJECT, broken_links, file_for, html_files, run, soup, tree_bytes

MANIFESTO_TITLE = "Babies & <toddlers>: the “Manifesto” costs £1bn"


def test_every_internal_link_and_asset_resolves_under_the_base_path(built: Path) -> None:
    assert len(list(html_files(built))) > 20
    assert broken_links(built) == []


def test_no_page_links_outside_the_sub_path(built: Path) -> None:
    # A link to "/posts/..." works on a user site but 404s on a project site.
    for file in html_files(built):
        for element in soup(file).find_all(["a", "link", "img", "script"]):
            url = element.get("href") or element.get("src") or ""
            if url.startswith("/"):
                assert url.startswith("/news-archive/"), f"{file}: {url}"


def test_post_page_shows_title_date_tags_and_body(built: Path) -> None:
    page = soup(built / "posts/2024/manifesto-for-babies/index.html")
    assert page.h1.get_text() == MANIFESTO_TITLE
    assert page.title.get_text().startswith(MANIFESTO_TITLE)
    assert page.find("time")["datetime"] == "2024-06-10"
    assert page.find("time").get_text() == "10 June 2024"
    assert [a.get_text() for a in page.select(".post .tags a")] == ["Policy & guidance", "Safeguarding"]
    assert page.find("link", rel="canonical")["href"] == BASE_URL + "posts/2024/manifesto-for-babies/"
    # A link to another post's file became that post's page, anchor kept.
    link = page.find("a", string="Working Together")
    assert link["href"] == "/news-archive/posts/2023/working-together/#what-changed"
    assert page.select_one("section.footnotes li#fn1") is not None


def test_editors_images_are_published_under_the_base_path(built: Path) -> None:
    image = soup(built / "posts/2024/summit/index.html").find("img", alt="The summit banner")
    assert image["src"] == "/news-archive/images/2024/summit-banner.png"
    assert (image["loading"], image["width"], image["height"]) == ("lazy", "2", "1")  # read from the file
    assert (built / "images/2024/summit-banner.png").read_bytes().startswith(b"\x89PNG")


def test_pages_need_nothing_from_elsewhere_and_the_css_is_small(built: Path) -> None:
    assert (built / "static/style.css").stat().st_size < 20_000
    for file in html_files(built):
        for element in soup(file).find_all(["link", "script", "img"]):
            url = element.get("href") or element.get("src") or ""
            assert (
                not url.startswith(("http:", "https:", "//"))
                or element.name == "link"
                and element.get("rel") in (["canonical"], ["alternate"])
            ), (file, url)  # fonts, styles and scripts are all served from the site itself


def test_raw_html_in_a_body_is_shown_as_text_not_run(built: Path) -> None:
    page = soup(built / "posts/2024/summit/index.html")
    assert [s for s in page.find_all("script") if s.get("type") != "application/ld+json"] == []
    assert '<script>alert("x")</script>' in page.select_one(".body").get_text()


def test_dates_are_shown_at_their_precision(built: Path) -> None:
    month = soup(built / "posts/2023/covid-lessons/index.html").find("time")
    assert (month.get_text(), month["datetime"]) == ("March 2023", "2023-03")
    year = soup(built / "posts/2023/year-only/index.html").find("time")
    assert (year.get_text(), year["datetime"]) == ("2023", "2023")
    # At a glance, in lists too: an approximate date says what is not known.
    assert year.find_next_sibling("span", class_="approximate").get_text() == "(month not known)"
    archive = soup(built / "archive/2023/index.html")
    assert [s.get_text() for s in archive.select(".approximate")] == ["(day not known)", "(month not known)"]


def test_no_machine_readable_date_is_more_precise_than_the_post(archive: Path) -> None:
    settings = archive / "site.toml"
    settings.write_text(settings.read_text().replace("feed_length = 4", "feed_length = 10"))  # every post
    assert run(archive, "build") == 0
    built = archive / "site"
    for post, expected in (("2023/covid-lessons", "2023-03"), ("2023/year-only", "2023")):
        page = soup(built / f"posts/{post}/index.html")
        data = json.loads(page.find("script", type="application/ld+json").string)
        assert (data["datePublished"], data["dateModified"]) == (expected, expected)
        assert page.find("meta", property="article:published_time") is None
    exact = soup(built / "posts/2024/summit/index.html")
    assert exact.find("meta", property="article:published_time")["content"] == "2024-04-22T09:30:00+01:00"
    lastmod = re.findall(r"<loc>([^<]+)</loc><lastmod>([^<]+)</lastmod>", (built / "sitemap.xml").read_text())
    assert (BASE_URL + "posts/2023/year-only/", "2023") in lastmod
    # RSS and Atom need a full date: the item's text says how much of it is known.
    for feed in ("feed.xml", "atom.xml"):
        entries = {e.title: e for e in feedparser.parse((built / feed).read_bytes()).entries}
        note = "Published in 2023; the month and day are not known, so the feed’s date is an estimate."
        undated = entries["An undated announcement"]
        body = undated.content[0].value if "content" in undated else undated.summary  # Atom, RSS
        assert f"<p><em>{note}</em></p>" in body
        assert "the day is not known" in str(entries["Lockdown lessons from local systems"])
        assert "estimate" not in str(entries["New joining link for the Working Together Summit"])


def test_same_slug_in_two_years_gives_two_pages(built: Path) -> None:
    assert soup(built / "posts/2023/working-together/index.html").h1.get_text() == (
        "Working Together to Safeguard Children 2023"
    )
    assert (
        soup(built / "posts/2024/working-together/index.html").h1.get_text()
        == "Working Together, one year on"
    )


def test_drafts_and_future_posts_never_reach_the_site(built: Path) -> None:
    everything = b"".join(tree_bytes(built).values())
    for secret in (b"Secret draft text", b"draft nobody may see", b"Scheduled text", b"far future"):
        assert secret not in everything
    assert not (built / "posts/2024/draft-post").exists()
    assert not (built / "posts/2999").exists()


def _walk_pagination(built: Path, first: str) -> list[str]:
    """Follow 'Older posts' links from the first page; return every post title seen."""
    titles, url, seen = [], BASE_URL + first, set()
    while url and url not in seen:
        seen.add(url)
        target = file_for(built, url)
        assert target is not None, url
        page = soup(target)
        titles += [a.get_text() for a in page.select("article.summary h2 a")]
        older = page.select_one(".pagination a[rel=next]")
        url = "https://example.github.io" + older["href"] if older else None
    return titles


def test_home_pages_list_every_post_once_newest_first(built: Path) -> None:
    titles = _walk_pagination(built, "")
    assert titles == [
        MANIFESTO_TITLE,
        "New joining link for the Working Together Summit",
        "Windows-saved post",
        "Working Together, one year on",
        "Working Together to Safeguard Children 2023",
        "Lockdown lessons from local systems",
        "An undated announcement",
    ]
    second = soup(built / "page/2/index.html")
    assert second.select_one(".pagination a[rel=prev]")["href"] == "/news-archive/"


def test_tag_pages_have_name_description_pages_and_feed(built: Path) -> None:
    page = soup(built / "tags/safeguarding/index.html")
    assert page.h1.get_text() == "Safeguarding"
    assert "Keeping children safe." in page.get_text()
    alternates = {link["href"] for link in page.find_all("link", rel="alternate")}
    assert "/news-archive/tags/safeguarding/feed.xml" in alternates
    assert "/news-archive/feed.xml" in alternates
    assert _walk_pagination(built, "tags/safeguarding/") == [
        MANIFESTO_TITLE,
        "New joining link for the Working Together Summit",
        "Working Together, one year on",
        "Working Together to Safeguard Children 2023",
    ]


def test_a_tag_page_counts_its_posts_and_its_cards_name_only_the_other_tags(built: Path) -> None:
    page = soup(built / "tags/safeguarding/index.html")
    assert "4 posts" in page.select_one("main > h1 + p + p").get_text()
    cards = page.select("article.summary")
    assert len(cards) == 2  # posts_per_page
    card_tags = [[a.get_text() for a in card.select(".tags a")] for card in cards]
    assert card_tags[0] == ["Policy & guidance"]  # the manifesto is also in Safeguarding: not repeated
    assert all("Safeguarding" not in names for names in card_tags)


def test_the_home_page_says_what_the_archive_is(built: Path) -> None:
    lede = " ".join(soup(built / "index.html").select_one("main .lede").get_text().split())
    assert lede.startswith(
        "A small archive for the tests. This archive holds 7 posts published from 2023 to 2024,"
    )
    assert soup(built / "page/2/index.html").select_one("main .lede") is None


def test_tags_index_counts_posts(built: Path) -> None:
    text = re.sub(r"\s+", " ", soup(built / "tags/index.html").get_text())
    assert "Safeguarding (4 posts)" in text
    assert "Events (1 post)" in text
    assert "Policy & guidance (4 posts)" in text


def test_year_archive(built: Path) -> None:
    index = re.sub(r"\s+", " ", soup(built / "archive/index.html").get_text())
    assert "2024 (4 posts)" in index and "2023 (3 posts)" in index
    year = soup(built / "archive/2023/index.html")
    assert [h.get_text() for h in year.find_all("h2")] == ["December 2023", "March 2023", "Month not known"]
    # Each year links the years either side that have posts.
    assert [(a["rel"][0], a.get_text()) for a in year.select("nav.pagination a")] == [("prev", "← 2024")]
    newest = soup(built / "archive/2024/index.html").select("nav.pagination a")
    assert [(a["rel"][0], a["href"]) for a in newest] == [("next", "/news-archive/archive/2023/")]


def test_the_navigation_marks_the_section_a_page_is_in(built: Path) -> None:
    def current(path: str) -> list[tuple[str, str]]:
        marked = soup(built / path).select("nav[aria-label=Main] a[aria-current]")
        return [(a.get_text(), a["aria-current"]) for a in marked]

    assert current("index.html") == [("Latest", "page")]
    assert current("page/2/index.html") == [("Latest", "true")]
    assert current("tags/index.html") == [("Topics", "page")]
    assert current("tags/safeguarding/index.html") == [("Topics", "true")]
    assert current("archive/2023/index.html") == [("Archive", "true")]
    assert current("subscribe/index.html") == [("Subscribe", "page")]
    assert current("posts/2024/summit/index.html") == []


def test_favicon_logo_and_a_default_sharing_image_are_in_the_site(built: Path) -> None:
    page = soup(built / "posts/2024/summit/index.html")
    icon = page.find("link", rel="icon")["href"]
    assert icon == "/news-archive/static/favicon.svg"
    assert (built / "static/favicon.svg").read_text().startswith("<svg")
    image = page.find("meta", property="og:image")["content"]
    assert image == BASE_URL + "static/share.png"
    png = file_for(built, image).read_bytes()
    width, height = int.from_bytes(png[16:20]), int.from_bytes(png[20:24])  # the PNG's IHDR
    assert png.startswith(b"\x89PNG") and (width, height) == (1200, 630)
    assert page.find("meta", attrs={"name": "twitter:card"})["content"] == "summary_large_image"
    logo = page.select_one(".site-title a")
    assert logo.select_one(".logo-mark").get_text() == "Fixture" and logo.get_text() == "Fixture & <Archive>"


def test_the_subscribe_page_offers_email_only_when_set(archive: Path, built: Path) -> None:
    page = soup(built / "subscribe/index.html")
    assert page.find(string=re.compile("by email")) is None
    assert [code.get_text() for code in page.select("code.feed-url")][:2] == [
        BASE_URL + "feed.xml",
        BASE_URL + "atom.xml",
    ]
    with (archive / "site.toml").open("a") as settings:
        settings.write('email_updates_url = "https://follow.example.org/ihv?list=news&src=site"\n')
    assert run(archive, "build") == 0
    link = soup(built / "subscribe/index.html").find("a", string="get new posts by email")
    assert link["href"] == "https://follow.example.org/ihv?list=news&src=site"


def test_every_page_advertises_the_site_feed(built: Path) -> None:
    for file in html_files(built):
        if file.parent.parent.name == "news":  # the alias redirect is not a page to read
            continue
        types = {link.get("type") for link in soup(file).find_all("link", rel="alternate")}
        assert {"application/rss+xml", "application/atom+xml"} <= types, file


def _absolute_links_only(html: str) -> None:
    for element in BeautifulSoup(html, "html.parser").find_all(["a", "img"]):
        url = element.get("href") or element.get("src")
        assert urlsplit(url).scheme in ("http", "https"), url


def test_every_feed_names_a_stylesheet_that_shows_it_as_a_page(built: Path) -> None:
    for feed in ("feed.xml", "atom.xml", "tags/events/feed.xml"):
        text = (built / feed).read_text()
        stylesheet = re.search(r'<\?xml-stylesheet type="text/xsl" href="([^"]+)"\?>', text)
        assert stylesheet and stylesheet[1] == "/news-archive/feed.xsl", feed
    xsl = ElementTree.parse(built / "feed.xsl").getroot()
    assert xsl.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"


def test_rss_feed_as_a_feed_reader_sees_it(built: Path) -> None:
    feed = feedparser.parse((built / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.title == "Fixture & <Archive>"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [BASE_URL + "feed.xml"]
    assert len(feed.entries) == 4  # feed_length
    first = feed.entries[0]
    assert first.title == MANIFESTO_TITLE
    assert first.link == BASE_URL + "posts/2024/manifesto-for-babies/"
    assert first.id == "tag:example.org,2026:fixture/posts/2024/manifesto-for-babies/"
    # Midnight in London on 10 June is 23:00 UTC the day before (BST).
    assert dt.datetime(*first.published_parsed[:6]) == dt.datetime(2024, 6, 9, 23, 0)
    assert (built / "feed.xml").read_text().count("+0100") >= 1
    html = first.summary
    assert "Working Together" in html and "<ol>" in html  # the full post, not a teaser
    _absolute_links_only(html)
    assert BASE_URL + "posts/2024/manifesto-for-babies/#fn1" in html


def test_atom_feed_as_a_feed_reader_sees_it(built: Path) -> None:
    feed = feedparser.parse((built / "atom.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [BASE_URL + "atom.xml"]
    entry = feed.entries[1]
    assert entry.title == "New joining link for the Working Together Summit"
    assert entry.published == "2024-04-22T09:30:00+01:00"
    assert entry.updated == "2024-04-24T00:00:00+01:00"
    _absolute_links_only(entry.content[0].value)
    assert [e.id for e in feed.entries] == [
        e.id for e in feedparser.parse((built / "feed.xml").read_bytes()).entries
    ]


def test_tag_feed_holds_only_that_tags_posts(built: Path) -> None:
    feed = feedparser.parse((built / "tags/events/feed.xml").read_bytes())
    assert not feed.bozo
    assert feed.feed.title == "Events · Fixture & <Archive>"
    assert [e.title for e in feed.entries] == ["New joining link for the Working Together Summit"]
    assert "&lt;script&gt;" in feed.entries[0].summary  # escaped body text, not a live script


def test_sitemap_robots_404_nojekyll_and_aliases(built: Path) -> None:
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text for loc in ElementTree.parse(built / "sitemap.xml").findall("s:url/s:loc", namespace)]
    assert BASE_URL in locs and BASE_URL + "posts/2023/working-together/" in locs
    assert all(file_for(built, loc) is not None for loc in locs)
    assert f"Sitemap: {BASE_URL}sitemap.xml" in (built / "robots.txt").read_text()
    assert soup(built / "404.html").h1.get_text() == "Page not found"
    assert (built / ".nojekyll").is_file()
    redirect = soup(built / "news/manifesto/index.html")
    assert redirect.find("meta", attrs={"http-equiv": "refresh"})["content"] == (
        "0; url=/news-archive/posts/2024/manifesto-for-babies/"
    )


def test_windows_line_endings_and_bom_build_the_same(archive: Path) -> None:
    windows = archive / "content/posts/2024/windows-post.md"
    assert windows.read_bytes().startswith(b"\xef\xbb\xbf---\r\n")
    assert run(archive, "build", "--out", str(archive / "as-windows")) == 0
    windows.write_bytes(windows.read_bytes()[3:].replace(b"\r\n", b"\n"))
    assert run(archive, "build", "--out", str(archive / "as-unix")) == 0
    assert tree_bytes(archive / "as-windows", False) == tree_bytes(archive / "as-unix", False)


def test_base_url_flag_overrides_site_toml(archive: Path) -> None:
    assert run(archive, "build", "--base-url", "https://news.example.org") == 0
    page = soup(archive / "site/index.html")
    assert page.find("link", rel="canonical")["href"] == "https://news.example.org/"
    assert page.find("link", rel="stylesheet")["href"] == "/static/style.css"
    assert broken_links(archive / "site", "https://news.example.org/") == []


def test_a_failed_build_leaves_the_previous_site_untouched(archive: Path, built: Path) -> None:
    before = tree_bytes(built)
    (archive / "content/posts/2024/summit.md").write_text("---\ntitle: [unclosed\n---\n")
    assert run(archive, "build") == 1
    assert tree_bytes(built) == before
    assert sorted(p.name for p in archive.iterdir() if p.name.startswith(".site")) == []  # no staging left


def test_files_of_deleted_posts_do_not_survive_a_rebuild(archive: Path, built: Path) -> None:
    assert (built / "posts/2024/windows-post/index.html").exists()
    (archive / "content/posts/2024/windows-post.md").unlink()
    assert run(archive, "build") == 0
    assert not (built / "posts/2024/windows-post").exists()
    assert "Windows-saved" not in (built / "feed.xml").read_text()


def test_readme_build_command_works_on_the_projects_own_content(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "build.py", "build", "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site/index.html").is_file()
    assert broken_links(tmp_path / "site", "https://example.github.io/ihv-archive/") == []
