"""Validate: what is published (no drafts, nothing before its date) and clashing slugs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from ihv_archive.config import config_from_dict
from ihv_archive.load import Loaded
from ihv_archive.validate import next_due, validate

from .test_content import GOOD, LONDON, TAGS, parse_text

NOW = datetime(2024, 6, 1, tzinfo=LONDON)


def posts() -> list:  # type: ignore[type-arg]
    post = parse_text(GOOD, "2024/a.md")
    assert not isinstance(post, list)
    return [
        post,
        replace(post, path="b.md", slug="b", date=NOW - timedelta(days=1)),
        replace(post, path="draft.md", slug="draft", draft=True),
        replace(post, path="later.md", slug="later", date=NOW + timedelta(days=3)),
    ]


def test_drafts_and_scheduled_posts_are_held_back_unless_asked_for(tmp_path: Path) -> None:
    config = config_from_dict({"title": "T", "description": "D", "base_url": "https://x.org/"}, tmp_path)
    loaded = Loaded(tuple(posts()), TAGS, ())
    assert [p.slug for p in validate(loaded, config, NOW).posts] == ["b", "a"]  # newest first
    assert len(validate(loaded, config, NOW, drafts=True, future=True).posts) == 4
    site = validate(loaded, config, NOW)
    assert next_due(site) == NOW + timedelta(days=3)
    assert next_due(site, future=True) is None


def test_two_posts_with_one_slug_in_one_year_are_a_problem_naming_both(tmp_path: Path) -> None:
    config = config_from_dict({"title": "T", "description": "D", "base_url": "https://x.org/"}, tmp_path)
    first, second = posts()[:2]
    clash = replace(second, path="content/posts/2024/c.md", slug=first.slug, date=first.date)
    site = validate(Loaded((first, clash), TAGS, ()), config, NOW)
    assert [str(p) for p in site.problems] == [
        "content/posts/2024/c.md: slug 'a' in 2024 is also used by content/posts/2024/a.md "
        "(rename one file, or give one a slug: of its own in its front matter)"
    ]
