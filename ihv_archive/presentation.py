"""What templates show of posts: dates as precise as they are known, reading time,
structured data, related posts and pages of lists. Pure functions, no I/O."""

from __future__ import annotations

import calendar
import heapq
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from markupsafe import Markup

from .config import Config
from .content import Post
from .urls import Urls


@dataclass(frozen=True)
class Pager:
    """One page of a paginated list: its posts and where the newer/older pages are."""

    number: int
    count: int
    posts: tuple[Post, ...]
    total: int  # posts on all the pages
    path: str
    newer: str | None
    older: str | None


def human_date(post_or_date: Post | datetime, precision: str = "day") -> str:
    """A date as honest as we know it: '19 March 2024', 'March 2020' or '2020'."""
    if isinstance(post_or_date, Post):
        when, precision = post_or_date.date, post_or_date.date_precision
    else:
        when = post_or_date
    if precision == "year":
        return str(when.year)
    if precision == "month":
        return f"{calendar.month_name[when.month]} {when.year}"
    return f"{when.day} {calendar.month_name[when.month]} {when.year}"


def machine_date(post: Post) -> str:
    """The <time datetime> value at the post's precision: 2024-03-19, 2020-03 or 2020."""
    return post.date.strftime({"year": "%Y", "month": "%Y-%m"}.get(post.date_precision, "%Y-%m-%d"))


def published(post: Post) -> str:
    """For machines (JSON-LD, meta tags, sitemaps): a full timestamp only when the day is known."""
    return rfc3339(post.date) if post.date_precision == "day" else machine_date(post)


def modified(post: Post) -> str:
    return rfc3339(post.updated) if post.updated else published(post)


def date_note(post: Post) -> str:
    """What a feed item says when its format demands a full date and the post has none."""
    if post.date_precision == "day":
        return ""
    unknown = "day is" if post.date_precision == "month" else "month and day are"
    return f"Published in {human_date(post)}; the {unknown} not known, so the feed’s date is an estimate."


def groupby_month(posts: Iterable[Post]) -> list[tuple[str, list[Post]]]:
    """Posts of one year under month headings, newest first; year-precise posts last, apart."""
    groups: dict[str, list[Post]] = {}
    for post in sorted(posts, key=lambda p: (p.date_precision != "year", p.date), reverse=True):
        heading = "Month not known" if post.date_precision == "year" else human_date(post.date, "month")
        groups.setdefault(heading, []).append(post)
    return list(groups.items())


def rfc822(when: datetime) -> str:
    return format_datetime(when)


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def last_change(post: Post) -> datetime:
    return post.updated or post.date


WORDS_PER_MINUTE = 200


def reading_time(post: Post) -> str:
    minutes = max(1, round(len(post.body.split()) / WORDS_PER_MINUTE))
    return f"{minutes} min read"


def json_ld(post: Post, config: Config, urls: Urls) -> Markup:
    """schema.org NewsArticle for search engines. '<', '>' and '&' are escaped inside the
    JSON, so no title or summary can close the script element it sits in."""
    organisation = {"@type": "Organization", "name": config.author or config.title}
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": post.title,
        "description": post.summary,
        "datePublished": published(post),
        "dateModified": modified(post),
        "inLanguage": config.language,
        "author": organisation,
        "publisher": organisation,
        "mainEntityOfPage": urls.absolute(urls.post(post)),
        "url": urls.absolute(urls.post(post)),
        "keywords": list(post.tags),
    }
    text = json.dumps(data, ensure_ascii=False)  # no indent: that would take the slow pure-Python encoder
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


RELATED = 3


def related_posts(posts: tuple[Post, ...], by_tag: dict[str, tuple[Post, ...]]) -> dict[str, tuple[str, ...]]:
    """For each post (by path), up to three others: most tags in common, then nearest in time
    (then the newer); posts with no tag in common only when there are not three that share one.
    Quadratic in a tag's size: 0.05 s at 1,000 posts, 4.5 s at 10,000 (docs/PERFORMANCE.md)."""
    position = {p.path: i for i, p in enumerate(posts)}
    members = {tag: [position[p.path] for p in tagged] for tag, tagged in by_tag.items()}
    related: dict[str, tuple[str, ...]] = {}
    for i, post in enumerate(posts):
        shared = Counter(j for tag in set(post.tags) if tag in members for j in members[tag])
        shared.pop(i, None)
        chosen = heapq.nsmallest(RELATED, shared, key=lambda j: (-shared[j], abs(j - i), j))
        step = 1
        while len(chosen) < RELATED and step < len(posts):  # fill from the posts nearest in time
            for j in (i - step, i + step):
                if 0 <= j < len(posts) and j not in chosen and len(chosen) < RELATED:
                    chosen.append(j)
            step += 1
        related[post.path] = tuple(posts[j].path for j in chosen)
    return related


def paginate(posts: tuple[Post, ...], per_page: int, path_of: Callable[[int], str]) -> list[Pager]:
    """Always at least one page, so that an empty tag still has a page and a feed."""
    count = max(1, -(-len(posts) // per_page))
    return [
        Pager(
            number=n,
            count=count,
            posts=posts[(n - 1) * per_page : n * per_page],
            total=len(posts),
            path=path_of(n),
            newer=path_of(n - 1) if n > 1 else None,
            older=path_of(n + 1) if n < count else None,
        )
        for n in range(1, count + 1)
    ]


# --- links between posts ----------------------------------------------------------------
