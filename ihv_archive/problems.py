"""Problems found in content or settings, reported to editors as `file:line: message (fix)`.

Every stage collects problems instead of raising on the first one, so that one run
shows an editor everything that needs fixing.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}: {self.message}{fix}"


class ProblemsFound(Exception):
    """Raised by a stage that cannot go on; carries every problem found so far."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        # By file, then line (a problem of the whole file, line None, first), then message.
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message, p.fix))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, file: str, line: int | None, message: str, fix: str = "") -> ProblemsFound:
        return cls([Problem(file, line, message, fix)])


def display_path(path: Path) -> str:
    """The path as an editor would type it: relative to the working folder when inside it.
    (String work only: called for every post on every build, it must not touch the disk.)"""
    absolute = os.path.abspath(path)
    here = os.getcwd()
    if absolute.startswith(here.rstrip(os.sep) + os.sep):
        return Path(absolute[len(here.rstrip(os.sep)) + 1 :]).as_posix()
    return Path(absolute).as_posix() if path.is_absolute() else path.as_posix()


def toml_problem(shown: str, error: Exception) -> Problem:
    """A TOML mistake at its line (tomllib ends its message saying where)."""
    message = str(error)
    found = re.search(r" \(at line (\d+), column \d+\)$", message)
    what = message[: found.start()] if found else message
    return Problem(shown, int(found[1]) if found else None, f"not valid TOML: {what}", "check this line")


def quoted(value: object, limit: int = 80) -> str:
    """A value as a message shows it: repr, cut to about `limit` characters (a value can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean …?' hint for a misspelt key or tag, or '' when nothing is close."""
    # 0.75: real typos ("safeguardng", "sumary", "titel") score 0.8 or more; at 0.6
    # "gardening" was offered "safeguarding".
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f"did you mean '{close[0]}'?" if close else ""
