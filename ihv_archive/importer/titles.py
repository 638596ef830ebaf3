"""Titles, summaries and slugs for imported articles.

An article's own title line is kept as its title. Otherwise a headline is made from its
first sentence: time phrases ("Today, …", "On Friday 15 December, …") and asides in
brackets dropped, then shortened at a clause or a word, never mid-word, to at most 90
characters.
"""

from __future__ import annotations

import re
import unicodedata

from .rules import Rules, matches
from .segment import Article, Line, is_title_line, plain

MAX_TITLE = 90
MAX_SUMMARY = 300
MAX_SLUG = 60
SENTENCE_END = re.compile(r"(?<=[.!?])[”’\"]?\s+(?=[“‘\"(]?[A-Z0-9])")
LEADING_TIME = re.compile(
    r"^(Today|Yesterday|Earlier this (week|month)|In case you missed it\s*[–—-]\s*last week"
    r"|On \w+day \d{1,2} \w+|In \w+ \d{4}|At the start of [^,]{3,40}|Just before the end of \d{4})\s*[,–—-]?\s+"
)
# Where a long sentence may be cut: before a clause or a trailing phrase (never mid-word).
CLAUSE_BREAKS = (
    " – ",
    " — ",
    ": ",
    ", ",
    " which ",
    " who ",
    " during ",
    " following ",
    " ahead of ",
    " after ",
    " since ",
    " in ",
    " at ",
    " from ",
    " for ",
    " on ",
    " by ",
    " with ",
    " to ",
)
WEAK_ENDINGS = re.compile(
    r"(\s+(a|an|the|of|to|for|and|or|in|on|at|by|with|from|its|their|our|as|that|which|who|is|are|has|have))+$",
    re.IGNORECASE,
)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(plain(text)) if s.strip()]


def _quotes_balanced(text: str) -> bool:
    return text.count("“") == text.count("”") and text.count("‘") <= text.count("’")


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """Cut at the latest clause break that leaves a balanced phrase, else at a word."""
    if len(text) <= limit:
        return text
    best = ""
    for mark in CLAUSE_BREAKS:
        for match in re.finditer(re.escape(mark), text[: limit + 1]):
            candidate = WEAK_ENDINGS.sub("", text[: match.start()]).rstrip(" ,;:–—")
            if len(candidate) > len(best) and len(candidate) >= 30 and _quotes_balanced(candidate):
                best = candidate
    if best:
        return best
    words = text[: limit + 1].rsplit(" ", 1)[0]
    while not _quotes_balanced(words) and " " in words:
        words = words.rsplit(" ", 1)[0]
    return WEAK_ENDINGS.sub("", words).rstrip(" ,;:–—")


def headline(first_line: str) -> str:
    sentence = sentences(first_line)[0] if sentences(first_line) else plain(first_line)
    text = LEADING_TIME.sub("", sentence)
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


def summary_of(article: Article, rules: Rules) -> str:
    """The first sentence or two of the article's first paragraph, at most 300 characters."""
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
        return " ".join(chosen)
    return shorten(plain(first), MAX_SUMMARY - 1) + "…"


def slugify(title: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[: MAX_SLUG + 1].rsplit("-", 1)[0]
    return slug or "post"
