"""Dates for imported posts, as exact as the text allows, never contradicting listing order.

Each post gets a window [earliest, latest]:
1. its own text: a full date in its opening lines is its date ("On Friday 15 December" is
   resolved to the year in which 15 December is a Friday); a span ("10-16 June 2024") or a
   dated public event it names (events.toml) narrows the window;
2. listing order: listings are newest first, so a post is no newer than the post above it
   and no older than the post below it, in every listing it appears in;
3. the years its text names: it cannot be older than the latest year it mentions.
Then, newest first, each post takes a date inside its window: day precision when known to
the day, month when the window lies within one month, year otherwise.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from .rules import Event

MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name}
MONTH = "(" + "|".join(MONTHS) + ")"
WEEKDAY = "(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
FULL_DATE = re.compile(rf"\b(?:{WEEKDAY},? )?(\d{{1,2}})(?:st|nd|rd|th)? {MONTH},? (\d{{4}})\b")
SPAN = re.compile(rf"\b(\d{{1,2}})\s*[-–]\s*(\d{{1,2}}) {MONTH} (\d{{4}})\b")
WEEKDAY_DATE = re.compile(rf"\b{WEEKDAY} (\d{{1,2}})(?:st|nd|rd|th)? {MONTH}\b(?!,? \d{{4}})")
TODAY_DATE = re.compile(rf"\btoday,? (\d{{1,2}}) {MONTH}\b(?!,? \d{{4}})")
MONTH_YEAR = re.compile(rf"^In {MONTH} (\d{{4}}),")
YEAR = re.compile(r"(?<![\d£$.,-])(20[0-4]\d)(?![\d%])")
OPENING_LINES = 3  # the lede: where an article states its own date, if it does
FLOOR = date(2012, 1, 1)  # the iHV was founded in 2012: nothing in its news is older


@dataclass
class Window:
    earliest: date
    latest: date
    exact: bool = False
    reasons: list[str] = field(default_factory=list)

    def narrow(self, earliest: date | None = None, latest: date | None = None) -> None:
        if earliest and earliest > self.earliest:
            self.earliest = earliest
        if latest and latest < self.latest:
            self.latest = latest


@dataclass(frozen=True)
class Dated:
    date: date
    precision: str  # day | month | year
    basis: str


def _day(day: str, month: str, year: int) -> date | None:
    try:
        return date(year, MONTHS[month], int(day))
    except ValueError:
        return None


def stated_date(opening: str) -> tuple[date, str] | None:
    """A full date the article's opening lines state, with the words that state it."""
    match = FULL_DATE.search(opening)
    if match and (when := _day(match[2], match[3], int(match[4]))):
        weekday = match[1]
        if weekday is None or calendar.day_name[when.weekday()] == weekday:
            return when, match[0]
    return None


def text_window(opening: str, text: str, events: tuple[Event, ...], ceiling: date) -> Window:
    """What an article's own words say of its date."""
    window = Window(FLOOR, ceiling)
    span = SPAN.search(opening)  # before full dates: "10-16 June 2024" ends in one
    if span:
        start, end = _day(span[1], span[3], int(span[4])), _day(span[2], span[3], int(span[4]))
        if start and end:
            window.narrow(start, end)
            window.reasons.append(f"the article speaks of “{span[0]}”")
    elif stated := stated_date(opening):
        when, words = stated
        return Window(when, when, exact=True, reasons=[f"the article states “{words}”"])
    if month_year := MONTH_YEAR.search(opening):
        window.narrow(earliest=date(int(month_year[2]), MONTHS[month_year[1]], 1))
        window.reasons.append(f"it reports “{month_year[1]} {month_year[2]}”")
    for event in events:
        if event.pattern.search(text):
            window.narrow(event.after, event.before)
            window.reasons.append(event.why)
    return window


def resolve_weekday(opening: str, text: str, window: Window) -> tuple[date, str] | None:
    """ "Friday 15 December" -> the date in the window where that day is a Friday; if several,
    one in a year the text names, else the latest."""
    match = WEEKDAY_DATE.search(opening)
    if match:
        candidates = [
            when
            for year in range(window.earliest.year, window.latest.year + 1)
            if (when := _day(match[2], match[3], year))
            and window.earliest <= when <= window.latest
            and calendar.day_name[when.weekday()] == match[1]
        ]
        named = {int(y) for y in YEAR.findall(text)}
        preferred = [c for c in candidates if c.year in named] or candidates
        if preferred:
            when = preferred[-1]
            return when, f"the article says “{match[0]}”, a {match[1]} in {when.year}"
    return None


def resolve_today(text: str, window: Window) -> tuple[date, str] | None:
    """ "published today 18 March": the date, when only one year in the window has it."""
    today = TODAY_DATE.search(text)
    if today:
        candidates = [
            when
            for year in range(window.earliest.year, window.latest.year + 1)
            if (when := _day(today[1], today[2], year)) and window.earliest <= when <= window.latest
        ]
        if len(candidates) == 1:
            return (
                candidates[0],
                f"the article says “{today[0]}”, which between its neighbours can only be in {candidates[0].year}",
            )
    return None


def latest_possible(openings: dict[int, str], texts: dict[int, str], events: tuple[Event, ...]) -> date:
    """The newest date any post can have: the end of the latest year named in a post's
    opening lines (not its body, which may name a target: "by 2032"), or of the latest
    event a post mentions. Taken from the sources, not the clock, so that importing the
    same sources next year gives the same posts."""
    years = [int(y) for text in openings.values() for y in YEAR.findall(text)]
    ceiling = date(max(years), 12, 31) if years else FLOOR
    for event in events:
        if event.after and any(event.pattern.search(t) for t in texts.values()):
            ceiling = max(ceiling, date(event.after.year, 12, 31))
    return ceiling


def propagate(windows: dict[int, Window], newer_than: dict[int, set[int]]) -> None:
    """Listing order: a post is no newer than any post above it, no older than any below."""
    changed = True
    while changed:
        changed = False
        for newer, olders in newer_than.items():
            for older in olders:
                if windows[older].latest > windows[newer].latest:
                    windows[older].latest = windows[newer].latest
                    changed = True
                if windows[newer].earliest < windows[older].earliest:
                    windows[newer].earliest = windows[older].earliest
                    changed = True


def newest_first(nodes: list[int], newer_than: dict[int, set[int]]) -> list[int]:
    """Posts in an order where every post comes after all posts listed above it."""
    waiting = {n: 0 for n in nodes}
    for olders in newer_than.values():
        for older in olders:
            waiting[older] += 1
    ready = [n for n in nodes if waiting[n] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for older in sorted(newer_than.get(node, ())):
            waiting[older] -= 1
            if waiting[older] == 0:
                ready.append(older)
    return order + [n for n in nodes if n not in order]  # a cycle (contradictory listings): keep the rest


def choose(window: Window, evidence: Window) -> tuple[date, str]:
    """A date inside the window. Precision comes from the evidence alone (the window the text
    and listing gave), never from a window that happens to shrink as neighbours are dated."""
    if window.exact:
        return window.earliest, "day"
    if (evidence.earliest.year, evidence.earliest.month) == (evidence.latest.year, evidence.latest.month):
        return window.earliest, "month"
    # Somewhere in a span of months or years: the middle, so that a run of undated posts
    # between two dated ones spreads out between them instead of piling up at one end.
    return window.earliest + (window.latest - window.earliest) / 2, "year"


def _span(window: Window) -> str:
    return f"between {window.earliest.isoformat()} and {window.latest.isoformat()}"


def date_posts(
    openings: dict[int, str],
    texts: dict[int, str],
    listings: list[list[int]],
    events: tuple[Event, ...],
) -> dict[int, Dated]:
    """Dates for posts (keyed by any id), given each listing as post ids, newest first."""
    newer_than: dict[int, set[int]] = defaultdict(set)
    for listing in listings:
        for newer, older in zip(listing, listing[1:], strict=False):
            if newer != older:
                newer_than[newer].add(older)
    ceiling = latest_possible(openings, texts, events)
    windows = {n: text_window(openings[n], texts[n], events, ceiling) for n in openings}
    propagate(windows, newer_than)
    for n, window in windows.items():
        if window.exact:
            continue
        if resolved := resolve_weekday(openings[n], texts[n], window) or resolve_today(texts[n], window):
            when, why = resolved
            windows[n] = Window(when, when, exact=True, reasons=[why])
            continue
        named = [int(y) for y in YEAR.findall(texts[n]) if int(y) <= window.latest.year]
        if named and date(max(named), 1, 1) > window.earliest:
            window.narrow(earliest=date(max(named), 1, 1))
            window.reasons.append(f"the text names {max(named)}")
    propagate(windows, newer_than)

    older_than: dict[int, set[int]] = defaultdict(set)
    for newer, olders in newer_than.items():
        for older in olders:
            older_than[older].add(newer)
    dated: dict[int, Dated] = {}
    for n in newest_first(sorted(openings), newer_than):
        window = windows[n]
        evidence = Window(window.earliest, window.latest)
        above = [dated[m].date for m in older_than[n] if m in dated]
        if above and min(above) < window.latest:
            window.latest = min(above)
        if window.earliest > window.latest:  # the text and the listing disagree: the listing wins
            window.reasons.append("listing order overrides the text")
            window.earliest = window.latest
        if not window.exact and (resolved := resolve_today(texts[n], window)):
            when, why = resolved
            window = Window(when, when, exact=True, reasons=[why])
        when, precision = choose(window, evidence)
        if window.exact:
            basis = f"Stated: {window.reasons[0]}."
        else:
            reasons = "; ".join(window.reasons) or "no date in the text"
            basis = f"Estimated: {reasons}; with the posts around it in the listing, {_span(window)}."
        dated[n] = Dated(when, precision, basis)
    return dated
