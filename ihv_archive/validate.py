"""Validate: the checks that need every post at once, and the choice of what is published.

Drafts never reach the site; posts dated after `now` are held back until their date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from .config import Config
from .content import Post, Tag
from .load import Loaded
from .problems import Problem


@dataclass(frozen=True)
class Site:
    config: Config
    posts: tuple[Post, ...]  # published, newest first
    tags: dict[str, Tag]
    all_posts: tuple[Post, ...]  # drafts and scheduled posts too, to explain a link to one
    now: datetime
    problems: tuple[Problem, ...] = ()  # found so far; rendering goes on to find the rest
    unreadable: frozenset[PurePosixPath] = frozenset()  # post files whose problems are reported

    @property
    def held_back(self) -> tuple[Post, ...]:
        """Drafts and scheduled posts: in all_posts, on no page."""
        published = set(self.posts)
        return tuple(p for p in self.all_posts if p not in published)


def newest_first(posts: list[Post] | tuple[Post, ...]) -> tuple[Post, ...]:
    # Same-day posts keep a stable order (by path), so that rebuilds give the same bytes.
    return tuple(sorted(posts, key=lambda p: (p.date, p.path), reverse=True))


def is_published(post: Post, now: datetime, drafts: bool = False, future: bool = False) -> bool:
    return (drafts or not post.draft) and (future or post.date <= now)


def next_due(site: Site, drafts: bool = False, future: bool = False) -> datetime | None:
    """When the first post held back by its date is due to be published: the site changes then."""
    if future:
        return None
    return min(
        (p.date for p in site.all_posts if (drafts or not p.draft) and p.date > site.now), default=None
    )


def duplicate_slugs(posts: tuple[Post, ...]) -> list[Problem]:
    """Two posts with the same slug in the same year would overwrite each other's page."""
    by_url: dict[tuple[int, str], list[Post]] = defaultdict(list)
    for post in posts:
        by_url[(post.year, post.slug)].append(post)
    problems = []
    for (year, slug), same in by_url.items():
        first, *others = sorted(same, key=lambda p: p.path)
        fix = "rename one file, or give one a slug: of its own in its front matter"
        for other in others:
            problems.append(
                Problem(other.path, None, f"slug '{slug}' in {year} is also used by {first.path}", fix)
            )
    return problems


def validate(
    loaded: Loaded, config: Config, now: datetime, drafts: bool = False, future: bool = False
) -> Site:
    problems = (*loaded.problems, *duplicate_slugs(loaded.posts))
    published = [p for p in loaded.posts if is_published(p, now, drafts, future)]
    return Site(config, newest_first(published), loaded.tags, loaded.posts, now, problems, loaded.unreadable)
