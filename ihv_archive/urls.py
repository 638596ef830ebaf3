"""The ONLY place that maps posts, tags and pages to URLs and output paths.

Every page is named by its *site path*: the part of its URL after the base URL, e.g.
"posts/2024/manifesto-for-babies/" or "feed.xml" ("" is the home page). From a site path
come both the link a page prints (`href`, root-relative, so it works under a GitHub Pages
project sub-path and on the dev server) and the file it is written to (`output_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from .content import Post


class UnsafePath(ValueError):
    """A site path that would leave the output folder."""


SearchPart = tuple[str, tuple[int, ...]]  # a search index bundle's path in the site, and its years


@dataclass(frozen=True)
class Urls:
    base_url: str  # absolute, ending in "/"

    @property
    def base_path(self) -> str:
        """The URL path the site lives under: "/" or "/news-archive/"."""
        return urlsplit(self.base_url).path or "/"

    # --- site paths ----------------------------------------------------------------------

    @staticmethod
    def post(post: Post) -> str:
        return f"posts/{post.year}/{post.slug}/"

    @staticmethod
    def home(page: int = 1) -> str:
        return "" if page == 1 else f"page/{page}/"

    @staticmethod
    def tag(slug: str, page: int = 1) -> str:
        return f"tags/{slug}/" if page == 1 else f"tags/{slug}/page/{page}/"

    @staticmethod
    def tag_feed(slug: str) -> str:
        return f"tags/{slug}/feed.xml"

    @staticmethod
    def tags_index() -> str:
        return "tags/"

    @staticmethod
    def archive(year: int | None = None) -> str:
        return "archive/" if year is None else f"archive/{year}/"

    @staticmethod
    def search() -> str:
        return "search/"

    @staticmethod
    def subscribe() -> str:
        return "subscribe/"

    @staticmethod
    def alias(old_url: str) -> str:
        """An alias as written in front matter ("/old/url/") -> its site path ("old/url/")."""
        return old_url.lstrip("/")

    RSS = "feed.xml"
    ATOM = "atom.xml"
    FEED_STYLE = "feed.xsl"  # shows a feed as a page in a browser
    SITEMAP = "sitemap.xml"
    ROBOTS = "robots.txt"
    NOT_FOUND = "404.html"
    NOJEKYLL = ".nojekyll"  # GitHub Pages: serve the files as they are, no Jekyll
    STATIC = "static/"  # the theme's files, from templates/static/
    IMAGES = "images/"  # editors' images, from content/images/
    SEARCH_BUNDLE = "pagefind/"  # the search index's parts, each written by Pagefind, are below

    @staticmethod
    def search_parts(posts_per_year: dict[int, int], size: int) -> list[SearchPart]:
        """The search index's parts, newest first: (bundle path, years). Whole years, gathered
        from the oldest until a part holds `size` posts, so that adding posts (to the newest
        year) changes only the newest part, and an edit re-indexes only its own part."""
        parts: list[tuple[int, ...]] = []
        years: list[int] = []
        count = 0
        for year in sorted(posts_per_year):
            years.append(year)
            count += posts_per_year[year]
            if count >= size:
                parts.append(tuple(years))
                years, count = [], 0
        if years:
            parts.append(tuple(years))
        return [
            (f"{Urls.SEARCH_BUNDLE}{part[0]}{'' if len(part) == 1 else f'-{part[-1]}'}/", part)
            for part in reversed(parts)
        ]

    @staticmethod
    def post_pages_of(years: tuple[int, ...]) -> str:
        """A glob of the post pages of some years (for the search indexer)."""
        return (
            f"posts/{years[0]}/**/*.html"
            if len(years) == 1
            else f"posts/{{{','.join(map(str, years))}}}/**/*.html"
        )

    # --- what a site path becomes ---------------------------------------------------------

    def href(self, site_path: str) -> str:
        """The link printed in pages: root-relative, under the base path."""
        return self.base_path + site_path

    def absolute(self, site_path: str) -> str:
        """The full URL: for feeds, sitemaps, canonical links and anything read off-site."""
        return self.base_url + site_path

    @staticmethod
    def output_file(site_path: str) -> PurePosixPath:
        """The file a site path is written to: "posts/2024/x/" -> posts/2024/x/index.html.
        UnsafePath for anything that could land outside the output folder."""
        # "%" too: a server would decode "%2e%2e" to "..".
        if any(c in site_path for c in "\\\x00%") or site_path.startswith("/") or "//" in site_path:
            raise UnsafePath(site_path)
        parts = site_path.split("/")
        if any(p in (".", "..") for p in parts):
            raise UnsafePath(site_path)
        parts = [p for p in parts if p]
        if site_path == "" or site_path.endswith("/"):
            parts.append("index.html")
        return PurePosixPath(*parts)
