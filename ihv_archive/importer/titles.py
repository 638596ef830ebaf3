"""Titles and summaries for imported articles.

An article's own title line is kept as its title. Otherwise a headline is made from its
first sentence: time phrases ("Today, …", "On Friday 15 December, …") and asides in
brackets dropped, then shortened only where a clause ends (a dash, a colon, ", which"),
never mid-phrase; the import report lists such posts as needing an editor's headline.
Summaries and made headlines carry no relative time ("today", "yesterday's"): in an archive
it means nothing.
"""

from __future__ import annotations

import re

from .rules import Rules, matches
from .segment import Article, Line, is_title_line, plain

MAX_TITLE = 90
MAX_SUMMARY = 300
SENTENCE_END = re.compile(r"(?<=[.!?])[”’\"]?\s+(?=[“‘\"(]?[A-Z0-9])")
LEADING_TIME = re.compile(
    r"^(Today|Yesterday|Earlier this (week|month)|In case you missed it\s*[–—-]\s*last week"
    r"|On \w+day \d{1,2} \w+|In \w+ \d{4}|At the start of [^,]{3,40}|Just before the end of \d{4})\s*[,–—-]?\s+"
)
# Where a long sentence may end early: where a clause ends, never inside a phrase.
CLAUSE_ENDS = (" – ", " — ", ": ", "; ", ", which ", ", who ", ", as ", ", following ", ", after ")
RELATIVE_TIME = "today|yesterday|tonight|this morning|this week|last night|last week|last month|earlier this (?:week|month)"
STALE = (
    (re.compile(rf"^(?:In case you missed it\s*[–—-]\s*)?(?:{RELATIVE_TIME}),\s+", re.IGNORECASE), ""),
    (re.compile(rf"\b(?:{RELATIVE_TIME})’s\s+", re.IGNORECASE), "the "),  # "today’s report" -> "the report"
    (re.compile(rf",?\s+(?:{RELATIVE_TIME})\b(?=[\s,.;:–—)]|$)", re.IGNORECASE), ""),  # "published today"
)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(plain(text)) if s.strip()]


def _quotes_balanced(text: str) -> bool:
    return text.count("“") == text.count("”") and text.count("‘") <= text.count("’")


SUBJECT_TIME = re.compile(r"^(This|Last) (week|month) (has seen|saw)\b")


def without_relative_time(text: str, period: str = "") -> str:
    """ "Following today’s statement…" -> "Following the statement…"; "published today by" ->
    "published by"; "This week has seen…" -> "A week in July 2022 saw…" (`period`: when)."""
    if period:
        text = SUBJECT_TIME.sub(lambda m: f"A {m[2]} in {period} saw", text)
    for pattern, replacement in STALE:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\bthe the\b", "the", text)
    return text[:1].upper() + text[1:] if text[:1].islower() and not text.startswith("iHV") else text


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """The text up to the latest clause end within the limit; the whole text if none."""
    if len(text) <= limit:
        return text
    ends = [text.find(mark, 30) for mark in CLAUSE_ENDS]
    best = max((end for end in ends if 0 < end <= limit and _quotes_balanced(text[:end])), default=-1)
    return text[:best].rstrip(" ,;:–—") if best > 0 else text


def headline(first_line: str) -> str:
    sentence = sentences(first_line)[0] if sentences(first_line) else plain(first_line)
    text = without_relative_time(LEADING_TIME.sub("", sentence))
    # Asides in brackets are dropped, unless they are all there is (a line such as "(2019)").
    text = (
        re.sub(r"\s*\([^()]*\)", "", text).strip().rstrip(".:")
        or text.strip().rstrip(".:")
        or plain(first_line).strip()
        or "Untitled news item"
    )
    if text.split(" ", 1)[0].islower():  # "the report…" -> "The report…", but "iHV…" stays
        text = text[:1].upper() + text[1:]
    return shorten(text)


def has_title_line(article: Article, rules: Rules) -> bool:
    """Does the article open with a title of its own (not a lede that opens a news item)?"""
    first = article.lines[0].text
    return (
        len(article.lines) > 1
        and is_title_line(first)
        and not matches(rules.openers, plain(first))
        # a sentence ending in a full stop is a title only if more text follows it
        and (not plain(first).endswith(".") or len(plain(article.lines[1].text)) > len(plain(first)))
    )


def title_of(article: Article, rules: Rules) -> str:
    """The article's own title line, or a headline from its text; never empty (the builder
    requires a title): "Untitled news item" when the text has no words to make one from."""
    if has_title_line(article, rules) and (title := plain(article.lines[0].text).rstrip(".").strip()):
        return title
    text = " ".join(line.text for line in article.lines)
    return headline(article.lines[0].text) or headline(text) or "Untitled news item"


def body_lines(article: Article, rules: Rules) -> tuple[Line, ...]:
    """The lines that make the body: all but an own title line, which is the title."""
    return article.lines[1:] if has_title_line(article, rules) else article.lines


def summary_of(article: Article, rules: Rules, period: str = "") -> str:
    """The first sentence or two of the article's first paragraph, at most 300 characters,
    without relative time; `period` (e.g. "July 2022") stands in where "this week" is the subject."""
    lines = body_lines(article, rules)
    first = next((line.text for line in lines if len(plain(line.text)) > 60), lines[0].text)
    chosen: list[str] = []
    for sentence in sentences(first):
        if len(" ".join([*chosen, sentence])) > MAX_SUMMARY:
            break
        chosen.append(sentence)
        if len(chosen) == 2:
            break
    if chosen:
        return without_relative_time(" ".join(chosen), period)
    return without_relative_time(plain(first)[: MAX_SUMMARY - 1].rsplit(" ", 1)[0], period) + "…"
