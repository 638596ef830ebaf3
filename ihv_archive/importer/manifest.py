"""The manifest (sources/manifest.toml) and the source files it names, read and checked
before anything is written."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


class ImportFailed(Exception):
    """Bad input: each message names the file and says what to do. Nothing was written."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(frozen=True)
class Source:
    file: str  # as recorded in posts' provenance: sources/ihv/<name>.txt
    listing: str  # the listing page's name
    tag: str  # the tag that listing stands for
    site: str
    single_article: bool
    split_before: tuple[int, ...]  # editors' corrections: a new article starts at these lines
    join_at: tuple[int, ...]  # …and these lines continue the article before them
    lines: tuple[str, ...]  # the file's text, one entry a line (1-based line n is lines[n-1])


_FIELDS = {"file": str, "listing": str, "tag": str, "site": str}
_OPTIONAL = {"single_article": bool, "split_before": list, "join_at": list}


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # control characters no scraped page holds


def read_source_text(path: Path, shown: str) -> str:
    """A source's text; ImportFailed for one that is missing, not a plain file, not UTF-8,
    empty, or binary (NULs and other control characters: not a scraped page)."""
    if path.exists() and not path.is_file():  # a pipe or device: reading it could wait for ever
        raise ImportFailed([f"{shown}: is not a regular file (name a text file in the manifest)"])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFailed([f"{shown}: file not found (check the manifest's file = entry)"]) from None
    except OSError as error:
        raise ImportFailed([f"{shown}: cannot be read: {error.strerror}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ImportFailed([f"{shown}:{line}: is not UTF-8 text (save it as UTF-8)"]) from None
    if not text.strip():
        raise ImportFailed([f"{shown}: is empty: there is nothing to import"])
    if found := BINARY.search(text):
        line = text.count("\n", 0, found.start()) + 1
        raise ImportFailed(
            [f"{shown}:{line}: holds binary data (a NUL or control character), not a listing's text"]
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_manifest(manifest: Path, root: Path) -> list[Source]:
    """Every source the manifest names, read; ImportFailed lists every problem found."""
    shown = _shown(manifest, root)
    try:
        data = tomllib.loads(read_source_text(manifest, shown))
    except tomllib.TOMLDecodeError as error:
        raise ImportFailed([f"{shown}: not valid TOML: {error}"]) from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise ImportFailed([f"{shown}: no [[source]] entries"])
    problems: list[str] = []
    sources: list[Source] = []
    for number, entry in enumerate(entries, 1):
        where = f"{shown}: [[source]] #{number}"
        missing = [
            k for k, kind in _FIELDS.items() if not isinstance(entry.get(k), kind) or not entry[k].strip()
        ]
        wrong = [k for k, kind in _OPTIONAL.items() if k in entry and not isinstance(entry[k], kind)]
        unknown = sorted(set(entry) - set(_FIELDS) - set(_OPTIONAL))
        if missing:
            problems.append(f"{where}: needs {', '.join(missing)} (text)")
        if wrong:
            problems.append(f"{where}: {', '.join(wrong)} has the wrong type")
        if unknown:
            problems.append(f"{where}: unknown field '{unknown[0]}'")
        if missing or wrong or unknown:
            continue
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry["tag"]):
            problems.append(f"{where}: tag {entry['tag']!r} is not a tag slug")
            continue
        path = (manifest.parent / entry["file"]).resolve()
        if not path.is_relative_to(manifest.parent.resolve()):
            problems.append(f"{where}: file {entry['file']!r} is outside {_shown(manifest.parent, root)}/")
            continue
        try:
            text = read_source_text(path, _shown(path, root))
        except ImportFailed as failed:
            problems.extend(failed.messages)
            continue
        sources.append(
            Source(
                file=_shown(path, root),
                listing=entry["listing"],
                tag=entry["tag"],
                site=entry["site"],
                single_article=entry.get("single_article", False),
                split_before=tuple(entry.get("split_before", [])),
                join_at=tuple(entry.get("join_at", [])),
                lines=tuple(text.split("\n")),
            )
        )
    if problems:
        raise ImportFailed(problems)
    return sources
