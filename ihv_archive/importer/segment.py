"""Split a listing into its articles, newest first, dropping scraping debris.

A source line is one of: blank, a spacer (only non-breaking spaces: sometimes, not always,
between two articles), debris (rules.toml), or content. Articles are runs of content lines;
where one starts is decided line by line (`starts_article`), from the rules, from the runs of
text a listing shares with another listing, and from the manifest's corrections.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from .manifest import Source
from .rules import Rules, matches

SPACES = re.compile(r"[\u00a0\u202f\u2007\t ]+")
LIST_ITEM = re.compile(r"^\s*(•|\d+\.)")
MIN_SHARED_RUN = 4  # lines two listings must share, in a row, to count as one article
NAME_WORD = r"(?:[A-Z][\w’'&-]*|of|for|and|the|in|on)"
# "The Royal College of Nursing (RCN), …", "In March 2022, The National Institute … (NICE) …":
# a lede introduces an organisation by name and acronym; later paragraphs use the acronym.
INTRODUCES = re.compile(
    rf"^(?:In [A-Z][a-z]+ \d{{4}}, )?(?:The )?([A-Z][\w’'&-]*(?: {NAME_WORD}){{1,9}}) \(([A-Za-z][A-Za-z0-9-]{{1,9}})\)"
)


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, in the source file
    text: str  # as in the file, less trailing spaces; non-breaking spaces kept
    after_spacer: bool = False  # a spacer or debris line stands between it and the line before

    @property
    def plain(self) -> str:
        """The text for matching: non-breaking spaces made plain, runs of spaces folded."""
        return SPACES.sub(" ", self.text).strip()


@dataclass(frozen=True)
class Article:
    source: Source
    index: int  # position in its listing, 0 = newest
    lines: tuple[Line, ...]

    @property
    def first(self) -> int:
        return self.lines[0].number

    @property
    def last(self) -> int:
        return self.lines[-1].number

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in self.lines)


def plain(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def content_lines(source: Source, rules: Rules) -> tuple[list[Line], list[int]]:
    """The content lines of a source, and the numbers of the debris lines dropped."""
    lines: list[Line] = []
    debris: list[int] = []
    gap = False
    for number, raw in enumerate(source.lines, 1):
        text = plain(raw)
        if not text:
            gap = gap or ("\u00a0" in raw)  # a spacer line
        elif matches(rules.debris, text):
            debris.append(number)
            gap = True
        else:
            lines.append(Line(number, raw.rstrip(), after_spacer=gap))
            gap = False
    return lines, debris


def shared_edges(listings: dict[str, list[Line]]) -> dict[str, set[int]]:
    """Where a run of text shared with another listing starts, and where the line after it
    is: the same article appears in two listings whole, so its edges are article edges."""
    edges: dict[str, set[int]] = {file: set() for file in listings}
    files = list(listings)
    for i, a in enumerate(files):
        for b in files[i + 1 :]:
            left = [line.plain for line in listings[a]]
            right = [line.plain for line in listings[b]]
            for block in SequenceMatcher(None, left, right, autojunk=False).get_matching_blocks():
                if block.size < MIN_SHARED_RUN:
                    continue
                for file, start in ((a, block.a), (b, block.b)):
                    lines = listings[file]
                    edges[file].add(lines[start].number)
                    if start + block.size < len(lines):
                        edges[file].add(lines[start + block.size].number)
    return edges


def introduces_new_name(line: Line, article: Sequence[Line]) -> bool:
    """The line introduces an organisation by name and acronym that the article so far has not named."""
    match = INTRODUCES.match(line.plain)
    if match is None:
        return False
    current = "\n".join(earlier.plain for earlier in article)  # only for a line that introduces one
    if re.search(rf"\b{re.escape(match[2])}\b", current):
        return False
    name_words = set(re.findall(r"[A-Z][\w’'&-]*", match[1]))
    return not name_words <= set(re.findall(r"[A-Z][\w’'&-]*", current))  # named before, if not abbreviated


def starts_article(
    line: Line, before: Line, source: Source, rules: Rules, edges: set[int], article: Sequence[Line] = ()
) -> str:
    """Why a new article starts at this line ("" if it does not). `before` is the line above;
    `article` the lines of the article so far."""
    if line.number in source.join_at:
        return ""
    if line.number in source.split_before:
        return "manifest"
    if source.single_article or LIST_ITEM.match(line.text) or line.text.startswith("    "):
        return ""
    if line.number in edges:
        return "shared"
    if matches(rules.openers, line.plain):
        return "opener"
    if introduces_new_name(line, article):
        return "introduces"
    if matches(rules.enders, before.plain):
        return "ender"
    if line.after_spacer and not matches(rules.continuations, line.plain):
        return "spacer"
    return ""


def is_title_line(text: str) -> bool:
    """A line that can be an article's own title: short, one sentence at most, not a list
    item, not introducing what follows."""
    words = plain(text).split()
    return (
        0 < len(words) <= 25
        and not LIST_ITEM.match(text)
        and not text.rstrip().endswith((":", ","))
        and plain(text).rstrip(".").count(". ") == 0
    )


def is_headline(text: str) -> bool:
    """A line written as a headline: a title line without closing punctuation, 15 words at most."""
    return (
        is_title_line(text)
        and len(plain(text).split()) <= 15
        and not plain(text).endswith(tuple(".!?;”\"'’)"))
    )


def segment(source: Source, lines: list[Line], rules: Rules, edges: set[int]) -> list[Article]:
    groups: list[list[Line]] = []
    for i, line in enumerate(lines):
        article = groups[-1] if groups else []
        why = "first" if i == 0 else starts_article(line, lines[i - 1], source, rules, edges, article)
        # A lone title line belongs to the article below it, whose lede opens the way ledes do.
        lone_title = bool(groups) and len(groups[-1]) == 1 and is_title_line(groups[-1][0].text)
        if why and not (why in ("opener", "introduces") and lone_title):
            # A title line just above a lede that opens an article is that article's title.
            cue = why in ("opener", "introduces") and len(groups[-1]) > 2
            above = groups[-1][-1] if groups else None
            headline = (
                above is not None and is_headline(above.text) and not matches(rules.enders, above.plain)
            )
            title = groups[-1].pop() if cue and headline else None
            groups.append([title] if title else [])
        groups[-1].append(line)
    return [Article(source, index, tuple(group)) for index, group in enumerate(groups)]
