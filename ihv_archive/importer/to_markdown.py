"""An article's flattened text -> clean Markdown.

The scraper flattened structure into text: `  • ` bullets, `    • ` nested bullets, `  1. `
numbers (and "1.An" with no space), short heading lines, "X said:" before quoted paragraphs,
bare URLs and `[1]` footnote markers with the notes at the end. Each is turned back into
its Markdown form; everything else is escaped, so scraped text never becomes markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from .rules import Rules
from .segment import Line, plain

BULLET = re.compile(r"^(?P<indent> *)•\s*(?P<text>.*)$")
NUMBERED = re.compile(r"^(?P<indent> *)(?P<number>\d{1,2})\.\s*(?P<text>[^\d\s].*)$")
FOOTNOTE_NOTE = re.compile(r"^\[(?P<number>\d+)\]\s+(?P<text>.+)$")
FOOTNOTE_MARK = re.compile(r"\[(\d+)\]")
NOTES_HEADING = re.compile(r"^(References|Notes|Sources|Footnotes)\s*:?$", re.IGNORECASE)
GLUED_MARK = re.compile(r"(?<=[A-Za-z)”’])(\d{1,2})(?=[\s,.;:)]|$)")  # "Health Education England1 and"
URL = re.compile(r"https?://[^\s<>\"“”‘’]+[^\s<>\"“”‘’.,;:!?)\]]")
NOT_A_HEADING = re.compile(r"^(You|We|I|It|They|This|These|Our|Your|#)")


@dataclass(frozen=True)
class Block:
    kind: str  # paragraph | heading | item | quote
    text: str
    depth: int = 0  # items: nesting level
    number: int | None = None  # items: the number of a numbered item
    detail: str = ""  # items: a continuation line under the item


def escape(text: str) -> str:
    """Plain text -> Markdown that shows exactly that text; bare URLs become links."""
    out = []
    position = 0
    for url in URL.finditer(text):
        out.append(_escape_plain(text[position : url.start()]))
        out.append(f"<{url.group()}>")
        position = url.end()
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    text = re.sub(r"([\\`*_\[\]<>~|])", r"\\\1", text)
    return re.sub(r"&(?=#?\w+;)", r"\\&", text)


def escape_line_start(text: str) -> str:
    """Escape what would start a block at the beginning of a line: #, >, -, +, 1."""
    text = re.sub(r"^([#>+-])", r"\\\1", text)
    return re.sub(r"^(\d+)([.)])(\s)", r"\1\\\2\3", text)


def inline(text: str, footnotes: set[str]) -> str:
    """A line's text as inline Markdown, with [n] markers that have a note made footnotes."""
    parts = re.split(r"(\[\d+\])", text)
    rendered = []
    for part in parts:
        mark = FOOTNOTE_MARK.fullmatch(part)
        rendered.append(f"[^{mark.group(1)}]" if mark and mark.group(1) in footnotes else escape(part))
    return escape_line_start("".join(rendered))


def is_heading(text: str, after: str | None, rules: Rules) -> bool:
    """A short line that heads a section: no comma, no sentence end, not a link label."""
    words = text.split()
    limit = 5 if text.endswith(":") else rules.heading_max_words
    return (
        after is not None
        and 0 < len(words) <= limit
        and len(text) <= 70
        and text[0].isupper()
        and "," not in text
        and not text.endswith((".", "!", ";", "”", "’"))
        and not NOT_A_HEADING.match(text)
        and not rules.calls_to_action.match(text)
        and not rules.lead_in.search(text)
        and not rules.speech.search(text)
    ) or (
        after is not None and text.endswith("?") and len(words) <= 35 and not after.endswith("?")
    )  # an interview's questions


def split_footnotes(lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """Trailing `[n] note` lines become footnote definitions, if the text marks them."""
    notes: dict[str, str] = {}
    while lines and (note := FOOTNOTE_NOTE.match(plain(lines[-1]))):
        notes[note.group("number")] = note.group("text")
        lines = lines[:-1]
    body = "\n".join(lines)
    used = {n for n in notes if f"[{n}]" in body}
    if used != set(notes):  # markers and notes do not pair up: leave the text as it is
        return lines + [f"[{n}] {t}" for n, t in reversed(list(notes.items()))][::-1], {}
    return lines, dict(sorted(notes.items(), key=lambda kv: int(kv[0])))


def numbered_notes(lines: list[str]) -> tuple[list[str], dict[str, str]]:
    """A closing "References" list numbered 1, 2, … becomes footnotes, and the digits glued to
    words that cite them ("England1") their markers: only when every note is cited so."""
    for i in range(len(lines) - 1, -1, -1):
        if NOTES_HEADING.match(plain(lines[i])):
            items = [NUMBERED.match(line) for line in lines[i + 1 :]]
            if (
                not items
                or not all(items)
                or [int(m["number"]) for m in items if m] != list(range(1, len(items) + 1))
            ):
                break
            notes = {m["number"]: plain(m["text"]) for m in items if m}
            cited = {m[1] for line in lines[:i] for m in GLUED_MARK.finditer(line)}
            if set(notes) <= cited:
                return [GLUED_MARK.sub(partial(_marker, notes), line) for line in lines[:i]], notes
            break
    return lines, {}


def _marker(notes: dict[str, str], match: re.Match[str]) -> str:
    return f"[{match[1]}]" if match[1] in notes else match[0]


def blocks(lines: list[str], rules: Rules) -> list[Block]:
    result: list[Block] = []
    quoting = ""  # after "X said:": "first" for the next paragraph, "more" for those after it
    numbered_parent = False  # bullets after a "1.An …" line at the margin nest under it
    for i, raw in enumerate(lines):
        text = plain(raw)
        after = plain(lines[i + 1]) if i + 1 < len(lines) else None
        bullet, numbered = BULLET.match(raw), NUMBERED.match(raw)
        if bullet:
            depth = 0 if len(bullet["indent"]) <= 2 else 1
            result.append(Block("item", plain(bullet["text"]), depth + (1 if numbered_parent else 0)))
            quoting = ""
            continue
        if numbered:
            numbered_parent = numbered["indent"] == ""
            depth = 0 if len(numbered["indent"]) <= 2 else 1
            result.append(Block("item", plain(numbered["text"]), depth, int(numbered["number"])))
            quoting = ""
            continue
        if raw.startswith("    ") and result and result[-1].kind == "item" and not result[-1].detail:
            last = result.pop()
            result.append(Block("item", last.text, last.depth, last.number, text))
            continue
        numbered_parent = False
        if quoting == "first" or (quoting == "more" and text.startswith(("“", '"'))):
            result.append(Block("quote", text))
            quoting = "more"
            continue
        quoting = ""
        if rules.speech.search(text):
            quoting = "first"
            result.append(Block("paragraph", text))
        elif is_heading(text, after, rules):
            result.append(Block("heading", text.rstrip(":")))
        else:
            result.append(Block("paragraph", text))
    # A heading with nothing under it (the link it labelled was lost) stays a paragraph.
    return [
        Block("paragraph", b.text)
        if b.kind == "heading" and (i + 1 == len(result) or result[i + 1].kind == "heading")
        else b
        for i, b in enumerate(result)
    ]


def render(blocks_: list[Block], footnotes: dict[str, str]) -> str:
    marks = set(footnotes)
    out: list[str] = []
    previous = ""
    indents: list[int] = []  # content offsets of the open list items, by depth
    for block in blocks_:
        if block.kind != "item":
            indents = []
        if block.kind == "item":
            marker = f"{block.number}." if block.number is not None else "-"
            depth = min(block.depth, len(indents))
            indent = indents[depth - 1] if depth else 0
            indents = indents[:depth] + [indent + len(marker) + 1]
            line = " " * indent + f"{marker} " + inline(block.text, marks)
            if block.detail:
                line += "\\\n" + " " * (indent + len(marker) + 1) + inline(block.detail, marks)
            out.append(("\n" if previous != "item" and out else "") + line)
        elif block.kind == "quote":
            joiner = ">\n" if previous == "quote" else ""
            out.append(("\n" if previous != "quote" else "") + joiner + "> " + inline(block.text, marks))
        elif block.kind == "heading":
            out.append("\n## " + inline(block.text, marks))
        else:
            out.append("\n" + inline(block.text, marks))
        previous = block.kind
    body = "\n".join(out).strip("\n") + "\n"
    if footnotes:
        body += "\n" + "\n".join(f"[^{n}]: {inline(t, set())}" for n, t in footnotes.items()) + "\n"
    return body


def to_markdown(lines: list[Line], rules: Rules) -> str:
    texts, footnotes = split_footnotes([line.text for line in lines])
    if not footnotes:
        texts, footnotes = numbered_notes(texts)
    return render(blocks(texts, rules), footnotes)
