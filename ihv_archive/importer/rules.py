"""The importer's rules (rules.toml, events.toml) loaded into typed, compiled form."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class TagRule:
    tag: str
    keywords: tuple[re.Pattern[str], ...]
    min: int


@dataclass(frozen=True)
class Event:
    """A dated public event (events.toml): when it happened, or bounds that hold regardless."""

    pattern: re.Pattern[str]
    after: date | None = None
    before: date | None = None
    why: str = ""  # the reason the bounds hold
    on: date | None = None  # the day it happened (to `end`, for a week-long event)
    end: date | None = None
    what: str = ""
    publication: bool = False
    role: str = ""  # how a mention is read, whatever its sentence says


@dataclass(frozen=True)
class Rules:
    debris: tuple[re.Pattern[str], ...]
    openers: tuple[re.Pattern[str], ...]
    enders: tuple[re.Pattern[str], ...]
    continuations: tuple[re.Pattern[str], ...]
    heading_max_words: int
    calls_to_action: re.Pattern[str]
    lead_in: re.Pattern[str]
    speech: re.Pattern[str]
    tags: tuple[TagRule, ...]
    events: tuple[Event, ...]


def _compile(patterns: list[str], flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def load_rules(rules_file: Path = HERE / "rules.toml", events_file: Path = HERE / "events.toml") -> Rules:
    rules = tomllib.loads(rules_file.read_text(encoding="utf-8"))
    events = tomllib.loads(events_file.read_text(encoding="utf-8"))
    segment, markdown = rules["segment"], rules["markdown"]
    return Rules(
        debris=_compile(rules["debris"]["lines"]),
        openers=_compile(segment["openers"]),
        enders=_compile(segment["enders"]),
        continuations=_compile(segment["continuations"]),
        heading_max_words=markdown["heading_max_words"],
        calls_to_action=re.compile(markdown["calls_to_action"]),
        lead_in=re.compile(markdown["lead_in"]),
        speech=re.compile(markdown["speech"]),
        tags=tuple(
            TagRule(
                tag,
                tuple(re.compile(re.escape(k), re.IGNORECASE) for k in rule["keywords"]),
                rule.get("min", 1),
            )
            for tag, rule in rules["tags"].items()
        ),
        events=tuple(
            Event(re.compile(e.pop("pattern")), **{k: v for k, v in e.items() if k != "source"})
            for e in events["event"]
        ),
    )


def matches(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(p.search(text) for p in patterns)
