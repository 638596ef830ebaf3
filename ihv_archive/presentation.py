"""What templates show of posts: dates as precise as they are known, reading time,
structured data, related posts and pages of lists. Pure functions, no I/O."""

from __future__ import annotations

import bisect
import calendar
import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from itertools import combinations

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
        "datePublished": post.date.isoformat(timespec="seconds"),
        "dateModified": last_change(post).isoformat(timespec="seconds"),
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


FEW_TAGS = 5  # posts with more are "wide": related posts for them are counted one by one


def related_posts(posts: tuple[Post, ...], by_tag: dict[str, tuple[Post, ...]]) -> dict[str, tuple[str, ...]]:
    """For each post (by path), up to three others: most tags in common, then nearest in time
    (then the newer); posts with no tag in common only when there are not three that share one.

    Counting every post that shares a tag, or intersecting whole tags, would be quadratic: at
    10,000 posts in 40 tags each post shares one with thousands. Instead every set of two or
    more tags that a post has indexes it, in time order, and the posts sharing k tags with
    a post come from the lists of its k-tag sets, from k = all its tags down to 2: only
    the nearest few on each side of it in each list, found by bisection. Level k is reached
    only when fewer than three share more, so those are all chosen already. Then posts
    sharing one tag, nearest first in each tag's list, then the posts nearest in time.
    Wide posts (more than FEW_TAGS tags, rare) are not indexed by their 2^n sets: they are
    counted against every post, and every post is counted against them."""
    position = {p.path: i for i, p in enumerate(posts)}
    members = {tag: [position[p.path] for p in tagged] for tag, tagged in by_tag.items()}  # ascending
    tags_of = [sorted(t for t in set(post.tags) if t in members) for post in posts]
    by_set: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)  # ascending, as posts are
    wide: list[int] = []
    for j, tags in enumerate(tags_of):
        if len(tags) > FEW_TAGS:
            wide.append(j)
            continue
        for k in range(2, len(tags) + 1):
            for subset in combinations(tags, k):
                by_set[subset].append(j)
    related: dict[str, tuple[str, ...]] = {}
    for i, post in enumerate(posts):
        tags = tags_of[i]
        if len(tags) > FEW_TAGS:
            chosen = _most_shared_counted(i, tags, members)
        else:
            chosen = _most_shared_indexed(i, tags, tags_of, by_set, wide)
        if len(chosen) < RELATED:  # every post sharing 2+ tags is chosen: add those sharing one
            need = RELATED - len(chosen)
            nearby: set[int] = set()
            for tag in tags:
                found = members[tag]
                at = bisect.bisect_left(found, i)
                nearby.update(found[max(0, at - need - 3) : at + need + 4])  # enough to skip chosen and i
            nearby.difference_update(chosen, (i,))
            chosen += heapq.nsmallest(need, nearby, key=lambda j: (abs(j - i), j))
        step = 1
        while len(chosen) < RELATED and step < len(posts):  # fill from the posts nearest in time
            for j in (i - step, i + step):
                if 0 <= j < len(posts) and j not in chosen and len(chosen) < RELATED:
                    chosen.append(j)
            step += 1
        related[post.path] = tuple(posts[j].path for j in chosen)
    return related


def _most_shared_indexed(
    i: int,
    tags: list[str],
    tags_of: list[list[str]],
    by_set: dict[tuple[str, ...], list[int]],
    wide: list[int],
) -> list[int]:
    """Up to three posts sharing two or more of post i's tags, most first, then nearest."""
    chosen: list[int] = []
    mine = set(tags)
    wide_shared = {j: len(mine.intersection(tags_of[j])) for j in wide}  # counted once, for every k
    for k in range(len(tags), 1, -1):
        if len(chosen) == RELATED:
            break
        need, skip = RELATED - len(chosen), len(chosen) + 1  # the chosen ones and post i
        found: set[int] = set()
        for subset in combinations(tags, k):
            listed = by_set.get(subset, [])
            at = bisect.bisect_left(listed, i)
            found.update(listed[max(0, at - need - skip) : at + need + skip])
        found.update(j for j, count in wide_shared.items() if count >= k)
        found.difference_update(chosen, (i,))
        chosen += heapq.nsmallest(need, found, key=lambda j: (abs(j - i), j))
    return chosen


def _most_shared_counted(i: int, tags: list[str], members: dict[str, list[int]]) -> list[int]:
    """The same for a wide post, by counting the tags it shares with every post that shares one
    (linear, for this post)."""
    shared = Counter(j for tag in tags for j in members[tag])
    shared.pop(i, None)
    return heapq.nsmallest(
        RELATED, (j for j, count in shared.items() if count >= 2), key=lambda j: (-shared[j], abs(j - i), j)
    )


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
