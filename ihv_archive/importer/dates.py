"""Dates for imported posts from evidence: a window [earliest, latest] for each post, and a
precision that says only what the evidence says.

1. Every date expression in the article, and every dated public event it names
   (events.toml), is read in its sentence and given a role:
   - the day of publication: "today, 18 March", "Today's theme, Tuesday 2 May", or an event
     the article says happened today, this morning, yesterday or last night;
   - a past event, which the post cannot be older than ("On Friday 15 December, the DfE
     published…"; a weekday named without a year is news of the last week, so it also
     bounds the post from above);
   - a future event, deadline or expected publication, which the post cannot be newer than.
   Years the article names bound it from below too (it cannot be older than the newest).
2. Listings are newest first: a post is no newer than the window of any post above it and
   no older than that of any post below it. Only windows bound neighbours, never the dates
   guessed inside them, so that one guess cannot push the next.
3. Precision: `day` only when the publication day is known; `month` when the window lies
   within one month; `year` otherwise, the date being the window's middle.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from .rules import Event

MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name}
MONTH = "(" + "|".join(MONTHS) + ")"
WEEKDAY = "(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
ORDINAL = r"(?:st|nd|rd|th)?"
# "Friday 15 December 2023", "15th December, 2023", "Friday 15 December", "10-16 June 2024"
DAY_DATE = re.compile(
    rf"\b(?:{WEEKDAY},? )?(?:(\d{{1,2}}){ORDINAL}\s*[-–]\s*)?(\d{{1,2}}){ORDINAL} {MONTH}(?:,? (\d{{4}}))?\b"
)
MONTH_YEAR = re.compile(rf"\b{MONTH},? (\d{{4}})\b")
YEAR = re.compile(r"(?<![\d£$.,/-])(20[0-4]\d)(?![\d%/])")
SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\d))*(?:[.!?]|\n|$)")  # "£4.65" does not end one

TODAY = re.compile(r"\b(today|this morning|tonight)\b", re.IGNORECASE)
YESTERDAY = re.compile(r"\b(yesterday|last night)\b", re.IGNORECASE)
LAST_WEEK = re.compile(r"\blast week\b", re.IGNORECASE)
THIS_WEEK = re.compile(r"\bthis week\b", re.IGNORECASE)
LAST_MONTH = re.compile(r"\blast month\b", re.IGNORECASE)
ABOUT_A_PUBLICATION = re.compile(
    r"\b(publish\w*|publication\w*|report\w*|launch\w*|release\w*|guidance)\b", re.IGNORECASE
)
FUTURE = re.compile(
    r"\b(will|is due|are due|due to|expected|imminent(ly)?|forthcoming|upcoming|ahead of|in advance of|"
    r"look out for|is on|are on|being held|to be (held|published|launched|released)|takes place on|until|closes|"
    r"deadline|next|Date:)",
    re.IGNORECASE,
)
IMMINENT = re.compile(r"\b(imminent(ly)?|shortly|soon|tomorrow|next week)\b", re.IGNORECASE)
NEW = re.compile(r"\b(new|brand-new|newly|latest|just)\b", re.IGNORECASE)
RECENT_DAYS = 7  # an event named with its weekday: news of the past week
COMING_DAYS = 14  # an event to come, named with its weekday: news of the coming fortnight
NEW_DAYS = 31  # a publication the article calls new
OPENING_SENTENCES = 4  # where an article names what it is news of
FLOOR = date(2012, 1, 1)  # the iHV was founded in 2012: nothing in its news is older


@dataclass
class Window:
    earliest: date
    latest: date
    exact: bool = False
    reasons: list[str] = field(default_factory=list)
    # Dates written without a year ("Friday 15 December"), read once the listing has bounded
    # the post: (weekday, first day of a span, day, month, the sentence's role, the words)
    pending: list[tuple[str | None, str | None, str, str, str, str]] = field(default_factory=list)
    # Months and years the article names in passing: lower bounds that give way to the rest
    soft: list[tuple[date, str]] = field(default_factory=list)

    def narrow(self, earliest: date | None = None, latest: date | None = None, why: str = "") -> None:
        changed = False
        if earliest and earliest > self.earliest:
            self.earliest, changed = earliest, True
        if latest and latest < self.latest:
            self.latest, changed = latest, True
        if changed and why:
            self.reasons.append(why)

    def fix(self, day: date, why: str) -> None:
        self.earliest = self.latest = day
        self.exact = True
        self.reasons = [why]


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


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def role(sentence: str) -> str:
    """What a sentence says of the events it names, from the article's point in time."""
    for name, pattern in (
        ("today", TODAY),
        ("yesterday", YESTERDAY),
        ("last week", LAST_WEEK),
        ("this week", THIS_WEEK),
        ("last month", LAST_MONTH),
    ):
        if pattern.search(sentence):
            return name
    if IMMINENT.search(sentence):
        return "imminent"
    if FUTURE.search(sentence):
        return "future"
    return "new" if NEW.search(sentence) else "past"


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def apply_role(window: Window, what: str, when: date, last: date, sentence_role: str) -> None:
    """Narrow a window by an event on `when` (to `last`, for a span) in a sentence of that role."""
    if sentence_role == "today":
        window.fix(when, f"the article says {what} happened today")
    elif sentence_role == "yesterday":
        window.fix(when + timedelta(days=1), f"the article says {what} happened yesterday")
    elif sentence_role == "last week":
        window.narrow(when + timedelta(days=1), when + timedelta(days=13), f"{what} was “last week”")
    elif sentence_role == "this week":
        window.narrow(when, last + timedelta(days=6), f"{what} was “this week”")
    elif sentence_role == "last month":
        start = _end_of_month(when) + timedelta(days=1)
        window.narrow(start, _end_of_month(start), f"{what} was “last month”")
    elif sentence_role == "future":
        window.narrow(latest=last, why=f"{what} was still to come")
    elif sentence_role == "imminent":
        window.narrow(when - timedelta(days=NEW_DAYS), when, f"{what} was expected soon")
    elif sentence_role == "new":
        window.narrow(when, when + timedelta(days=NEW_DAYS), f"the article calls {what} new")
    else:
        window.narrow(earliest=when, why=f"the article reports {what}")


def text_window(text: str, events: tuple[Event, ...], ceiling: date) -> Window:
    """What an article's own words say of its publication day."""
    window = Window(FLOOR, ceiling)
    said = sentences(text)
    # An opening that says a publication came out today (or yesterday, or this week) dates
    # the article by the publications it names, wherever it names them.
    opening = " ".join(said[:2])
    opening_role = role(opening) if ABOUT_A_PUBLICATION.search(opening) else "past"
    past_years: list[int] = []
    for index, sentence in enumerate(said):
        sentence_role = role(sentence)
        if sentence_role in ("past", "new"):
            past_years += [int(year) for year in YEAR.findall(sentence)]
        for match in DAY_DATE.finditer(sentence):
            _date_in_sentence(window, match, sentence_role)
        for match in MONTH_YEAR.finditer(sentence):
            month_start = date(int(match[2]), MONTHS[match[1]], 1)
            if sentence_role == "future":
                window.narrow(latest=_end_of_month(month_start), why=f"“{match[0]}” was still to come")
            elif sentence_role in ("past", "new"):
                window.soft.append((month_start, f"the article reports “{match[0]}”"))
        for event in events:
            if not event.pattern.search(sentence):
                continue
            window.narrow(event.after, event.before, event.why)
            if event.on is None:
                continue
            how = event.role or sentence_role
            early = index < OPENING_SENTENCES or opening_role in ("today", "yesterday", "this week")
            if how in ("past", "new") and event.publication and opening_role != "past" and early:
                how = opening_role
            elif how == "past" and index == 0 and event.publication:  # a headline naming it
                how = "new"
            apply_role(window, event.what, event.on, event.end or event.on, how)
    if past_years:
        window.soft.append((date(max(past_years), 1, 1), f"the text names {max(past_years)}"))
    return window


def _date_in_sentence(window: Window, match: re.Match[str], sentence_role: str) -> None:
    weekday, first, day, month, year = match.groups()
    if year is None:
        window.pending.append((weekday, first, day, month, sentence_role, match[0]))
        return
    when, start = _day(day, month, int(year)), _day(first or day, month, int(year))
    if when and start:
        _apply_date(window, when, start, weekday is not None, sentence_role, f"“{match[0]}”")


def _apply_date(
    window: Window, when: date, start: date, weekday: bool, sentence_role: str, what: str
) -> None:
    if sentence_role == "today":
        if not window.exact:
            window.fix(start, f"the article says it is {what} today")
    elif sentence_role == "yesterday":
        if not window.exact:
            window.fix(when + timedelta(days=1), f"the article says {what} was yesterday")
    elif sentence_role == "this week":
        window.narrow(start, when + timedelta(days=6), f"the article says {what} is this week")
    elif sentence_role == "future" and weekday:  # news of the coming fortnight
        window.narrow(when - timedelta(days=COMING_DAYS), when, f"{what} was still to come")
    elif sentence_role in ("future", "imminent"):
        window.narrow(latest=when, why=f"{what} was still to come")
    elif weekday and sentence_role == "past":  # news of the past week
        window.narrow(when, when + timedelta(days=RECENT_DAYS), f"the article reports {what}")
    elif sentence_role in ("past", "new", "last week", "last month"):
        window.narrow(earliest=start, why=f"the article reports {what}")


def resolve_pending(window: Window, named: set[int]) -> None:
    """Dates written without a year, read in the window the listing left: the year in it whose
    weekday fits (a year the text names first); a date with no weekday only when one year fits."""
    low = window.earliest - timedelta(days=COMING_DAYS)
    high = window.latest + timedelta(days=RECENT_DAYS)
    for weekday, first, day, month, sentence_role, words in window.pending:
        fits = [
            when
            for year in range(low.year, high.year + 1)
            if (when := _day(day, month, year))
            and low <= when <= high
            and (weekday is None or calendar.day_name[when.weekday()] == weekday)
        ]
        if weekday is None and len(fits) != 1:
            continue
        fits = [when for when in fits if when.year in named] or fits
        if fits:
            when = fits[-1]
            start = _day(first or day, month, when.year) or when
            _apply_date(window, when, start, weekday is not None, sentence_role, f"“{words}” ({when.year})")
    window.pending = []
    for earliest, why in sorted(window.soft, reverse=True):  # the latest that fits the rest
        if not window.exact and earliest <= window.latest:
            window.narrow(earliest=earliest, why=why)
            break
    window.soft = []


def latest_possible(texts: dict[int, str], events: tuple[Event, ...]) -> date:
    """The newest date any post can have: the end of the latest year a post names, or of the
    latest event a post mentions. Taken from the sources, not the clock, so that importing the
    same sources next year gives the same posts."""
    years = [int(y) for text in texts.values() for y in YEAR.findall(text)]
    ceiling = date(max(years), 12, 31) if years else FLOOR
    for event in events:
        known = event.on or event.after
        if known and any(event.pattern.search(t) for t in texts.values()):
            ceiling = max(ceiling, date(known.year, 12, 31))
    return ceiling


def propagate(windows: dict[int, Window], newer_than: dict[int, set[int]]) -> None:
    """Listing order: a post is no newer than any post above it, no older than any below.
    A post known to the day keeps it; where the listing contradicts a post's own evidence,
    the window shrinks to the edge of that evidence rather than past it."""
    changed = True
    while changed:
        changed = False
        for newer, olders in newer_than.items():
            for older in olders:
                above, below = windows[newer], windows[older]
                latest = max(min(below.latest, above.latest), below.earliest)
                if not below.exact and latest != below.latest:
                    below.latest, changed = latest, True
                earliest = min(max(above.earliest, below.earliest), above.latest)
                if not above.exact and earliest != above.earliest:
                    above.earliest, changed = earliest, True


def choose(window: Window) -> tuple[date, str]:
    """A date inside the window, and the precision the window allows."""
    if window.exact:
        return window.earliest, "day"
    if (window.earliest.year, window.earliest.month) == (window.latest.year, window.latest.month):
        return window.earliest, "month"
    return window.earliest + (window.latest - window.earliest) / 2, "year"


def date_posts(
    texts: dict[int, str], listings: list[list[int]], events: tuple[Event, ...]
) -> dict[int, Dated]:
    """Dates for posts (keyed by any id), given each listing as post ids, newest first."""
    newer_than: dict[int, set[int]] = defaultdict(set)
    for listing in listings:
        for newer, older in zip(listing, listing[1:], strict=False):
            if newer != older:
                newer_than[newer].add(older)
    ceiling = latest_possible(texts, events)
    windows = {n: text_window(texts[n], events, ceiling) for n in texts}
    for window in windows.values():
        if window.earliest > window.latest:  # the text contradicts itself: keep what it states last
            window.earliest = window.latest
    propagate(windows, newer_than)
    for n, window in windows.items():
        resolve_pending(window, {int(y) for y in YEAR.findall(texts[n])})
    propagate(windows, newer_than)
    dated: dict[int, Dated] = {}
    for n, window in windows.items():
        when, precision = choose(window)
        span = f"between {window.earliest.isoformat()} and {window.latest.isoformat()}"
        if window.exact:
            basis = f"Known to the day: {window.reasons[0]}."
        else:
            reasons = "; ".join(dict.fromkeys(window.reasons)) or "no date in the text"
            basis = f"From the evidence ({reasons}) and the posts around it in its listings: {span}."
        dated[n] = Dated(when, precision, basis)
    return dated
