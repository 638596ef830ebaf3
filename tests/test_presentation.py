"""What templates show of posts: dates, pages of lists, months."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ihv_archive.presentation import groupby_month, human_date, paginate

from .test_content import GOOD, parse_text


def test_dates_are_shown_only_as_precisely_as_known() -> None:
    when = datetime(2020, 3, 9, tzinfo=ZoneInfo("Europe/London"))
    assert [human_date(when, p) for p in ("day", "month", "year")] == ["9 March 2020", "March 2020", "2020"]


def test_pagination() -> None:
    posts = tuple(parse_text(GOOD, f"2024/p{i}.md") for i in range(5))
    pages = paginate(posts, 2, lambda n: "" if n == 1 else f"page/{n}/")
    assert [len(p.posts) for p in pages] == [2, 2, 1]
    assert [(p.newer, p.older) for p in pages] == [(None, "page/2/"), ("", "page/3/"), ("page/2/", None)]
    assert len(paginate((), 2, str)) == 1  # an empty list still has its page


def test_archive_groups_by_month_with_year_only_posts_last() -> None:
    march = parse_text(GOOD, "2024/a.md")
    year_only = parse_text(GOOD.replace("summary:", "date_precision: year\nsummary:"), "2024/b.md")
    may = parse_text(GOOD.replace("2024-03-19", "2024-05-01"), "2024/c.md")
    groups = groupby_month([march, year_only, may])
    assert [(h, [p.slug for p in ps]) for h, ps in groups] == [
        ("May 2024", ["c"]),
        ("March 2024", ["a"]),
        ("Month not known", ["b"]),
    ]
