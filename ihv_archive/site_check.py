"""`python build.py check --site [DIR]`: check a built site the way readers' tools will.

Every internal link and asset must resolve under the base path (fragments included); every
feed must parse (feedparser) and use only absolute URLs; every page needs a title, a
language, a canonical URL and a description. Publishing runs this before deploying, so a
broken site is never published.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from .problems import Problem, display_path
from .urls import Urls

LINKING = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}


class PageFacts(HTMLParser):
    """What one HTML page says of itself and where it links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, int]] = []  # (url, line)
        self.ids: set[str] = set()
        self.title = ""
        self.lang = ""
        self.canonical = ""
        self.description = ""
        self.redirect = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.ids.add(values["name"])
        if tag in LINKING and values.get(LINKING[tag]):
            self.links.append((values[LINKING[tag]], self.getpos()[0]))
        if tag == "html":
            self.lang = values.get("lang", "")
        elif tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in values.get("rel", "").split():
            self.canonical = values.get("href", "")
        elif tag == "meta" and values.get("name") == "description":
            self.description = values.get("content", "")
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.redirect = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def read_page(path: Path) -> PageFacts:
    facts = PageFacts()
    facts.feed(path.read_text(encoding="utf-8", errors="replace"))
    facts.close()
    return facts


@dataclass(frozen=True)
class SiteMap:
    """Maps URLs to the files GitHub Pages would serve for them."""

    root: Path
    base_url: str

    @property
    def base_path(self) -> str:
        return Urls(self.base_url).base_path

    def url_of(self, file: Path) -> str:
        rel = PurePosixPath(os.path.relpath(file, self.root).replace(os.sep, "/")).as_posix()
        return self.base_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)

    def file_of(self, url: str) -> Path | None:
        """The file for a URL on this site, or None when there is none (a broken link)."""
        parts = urlsplit(url)
        path = unquote(parts.path)
        if not path.startswith(self.base_path):
            return None
        rel = path[len(self.base_path) :]
        if ".." in rel.split("/"):
            return None
        target = self.root / rel
        if rel == "" or rel.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None

    def is_ours(self, url: str) -> bool:
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def check_pages(site: SiteMap, pages: list[Path]) -> list[Problem]:
    problems: list[Problem] = []
    facts = {page: read_page(page) for page in pages}
    for page, page_facts in facts.items():
        shown = display_path(page)
        here = site.url_of(page)
        for link, line in page_facts.links:
            url = urljoin(here, link)
            if not site.is_ours(url) or urlsplit(url).scheme not in ("http", "https"):
                continue
            target = site.file_of(url)
            if target is None:
                problems.append(
                    Problem(shown, line, f"link to {link} does not resolve under {site.base_path}")
                )
                continue
            fragment = unquote(urlsplit(url).fragment)
            if fragment and target.suffix == ".html":
                target_facts = facts.get(target) or read_page(target)
                if fragment not in target_facts.ids:
                    problems.append(Problem(shown, line, f"link to {link}: no id '{fragment}' on that page"))
        if page_facts.redirect:
            continue  # an alias's redirect page is not a page to read
        for what, value in (
            ("title", page_facts.title.strip()),
            ("lang attribute", page_facts.lang),
            ("canonical URL", page_facts.canonical),
            ("meta description", page_facts.description.strip()),
        ):
            if not value:
                problems.append(Problem(shown, None, f"has no {what}"))
        if page_facts.canonical and not page_facts.canonical.startswith(site.base_url):
            problems.append(
                Problem(shown, None, f"canonical URL {page_facts.canonical} is not under {site.base_url}")
            )
    return problems


def check_feeds(site: SiteMap, feeds: list[Path]) -> list[Problem]:
    import feedparser  # only this check needs it

    problems: list[Problem] = []
    for feed_file in feeds:
        shown = display_path(feed_file)
        parsed = feedparser.parse(feed_file.read_bytes())
        if parsed.bozo:
            problems.append(Problem(shown, None, f"does not parse as a feed: {parsed.bozo_exception}"))
            continue
        for entry in parsed.entries:
            if urlsplit(entry.get("link", "")).scheme not in ("http", "https"):
                problems.append(
                    Problem(shown, None, f"entry {entry.get('title', '?')!r} has no absolute link")
                )
            bodies = [c.value for c in entry.get("content", [])] or [entry.get("summary", "")]
            for body in bodies:
                links = PageFacts()
                links.feed(body)
                for link, _ in links.links:
                    if urlsplit(link).scheme not in ("http", "https", "mailto"):
                        problems.append(
                            Problem(
                                shown, None, f"entry {entry.get('title', '?')!r} has a relative URL: {link}"
                            )
                        )
    return problems


def check_site(root: Path, base_url: str) -> list[Problem]:
    if not (root / "index.html").is_file():
        return [Problem(display_path(root), None, "is not a built site (no index.html)", "run build first")]
    site = SiteMap(root, base_url)
    pages = sorted(root.rglob("*.html"))
    feeds = [f for f in sorted(root.rglob("*.xml")) if f.name in ("feed.xml", "atom.xml")]
    return check_pages(site, pages) + check_feeds(site, feeds)
