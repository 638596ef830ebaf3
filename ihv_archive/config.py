"""Site settings: `site.toml` -> Config, a frozen dataclass every stage reads and none changes."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .problems import Problem, ProblemsFound, did_you_mean, display_path, quoted, toml_problem

SETTINGS_FILE = "site.toml"


@dataclass(frozen=True)
class Config:
    root: Path  # the project folder: site.toml, content/, templates/
    title: str
    description: str
    base_url: str  # absolute, always ending in "/": https://example.github.io/news-archive/
    language: str
    timezone: str
    author: str
    posts_per_page: int
    feed_length: int
    feed_id_prefix: str  # stable feed ids that survive a move to another domain
    allow_html: bool  # raw HTML inside Markdown; off unless site.toml turns it on
    search_part_posts: int  # the search index comes in parts of about this many posts
    email_updates_url: str  # an RSS-to-email service's sign-up page, shown on the subscribe page if set
    repository: str  # "owner/name" on GitHub, where the CMS saves posts; "" = read off a github.io base_url
    cms_auth_url: str  # an OAuth worker for the CMS's "Sign in with GitHub"; "" = sign in with a token
    out_dir: Path

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def posts_dir(self) -> Path:
        return self.content_dir / "posts"

    @property
    def images_dir(self) -> Path:
        return self.content_dir / "images"

    @property
    def tags_file(self) -> Path:
        return self.content_dir / "tags.toml"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def key(self) -> str:
        """The settings, as what a build makes depends on them: with the folders by their full
        paths, so that `build` run in the project and `build --root <its full path>` are the
        same build to the cache (by their spelling, each would make the other start afresh)."""
        return repr(replace(self, root=self.root.absolute(), out_dir=self.out_dir.absolute()))


# key -> (type, default); None as default means the key is required.
_SETTINGS: dict[str, tuple[type, Any]] = {
    "title": (str, None),
    "description": (str, None),
    "base_url": (str, None),
    "language": (str, "en-GB"),
    "timezone": (str, "Europe/London"),
    "author": (str, ""),
    "posts_per_page": (int, 10),
    "feed_length": (int, 20),
    "feed_id_prefix": (str, ""),
    "allow_html": (bool, False),
    "search_part_posts": (int, 500),
    "email_updates_url": (str, ""),
    "repository": (str, ""),
    "cms_auth_url": (str, ""),
}


def normalise_base_url(url: str) -> str | None:
    """The base URL with exactly one trailing slash, or None when it is not an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        return None
    return url.strip().rstrip("/") + "/"


def load_config(root: Path, base_url: str | None = None, out_dir: Path | None = None) -> Config:
    """Read site.toml under root; base_url and out_dir override it (the CLI's flags)."""
    path = root / SETTINGS_FILE
    shown = display_path(path)
    if not path.is_file():
        if path.exists():  # a pipe or a device: reading it could wait for ever
            raise ProblemsFound.one(shown, None, "is not a regular file", "save the settings as a plain file")
        raise ProblemsFound.one(
            shown, None, "site settings not found", "run the command in the project folder"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ProblemsFound.one(shown, None, "is not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as error:
        raise ProblemsFound([toml_problem(shown, error)]) from None
    return config_from_dict(raw, root, shown, base_url, out_dir)


def config_from_dict(
    raw: dict[str, Any],
    root: Path,
    shown: str = SETTINGS_FILE,
    base_url: str | None = None,
    out_dir: Path | None = None,
) -> Config:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in raw:
        if key not in _SETTINGS:
            problems.append(Problem(shown, None, f"unknown setting '{key}'", did_you_mean(key, _SETTINGS)))
    for key, (kind, default) in _SETTINGS.items():
        value = raw.get(key, default)
        if value is None:
            problems.append(Problem(shown, None, f"{key}: missing", f'add {key} = "…"'))
        elif type(value) is not kind:  # bool is an int subclass: compare exact types
            problems.append(Problem(shown, None, f"{key}: expected {kind.__name__}, got {quoted(value)}"))
        else:
            values[key] = value
    if base_url is not None:
        values["base_url"] = base_url
    if "base_url" in values:
        normal = normalise_base_url(values["base_url"])
        if normal is None:
            what = f"base_url: {quoted(values['base_url'])} is not an absolute http(s) URL"
            problems.append(Problem(shown, None, what, "use e.g. https://example.github.io/news-archive/"))
        values["base_url"] = normal
    for key in ("email_updates_url", "cms_auth_url"):  # a query string is fine (a sign-up page's)
        url = urlsplit(values.get(key, ""))
        if url.geturl() and (url.scheme not in ("http", "https") or not url.netloc):
            what = f"{key}: {quoted(values[key])} is not an absolute http(s) URL"
            problems.append(Problem(shown, None, what, "use the page's address, https://…"))
    if not re.fullmatch(r"([\w.-]+/[\w.-]+)?", values.get("repository", "")):
        what = f"repository: {quoted(values['repository'])} is not a GitHub repository's owner/name"
        problems.append(Problem(shown, None, what, 'use e.g. repository = "ihv/news-archive"'))
    for key in ("posts_per_page", "feed_length", "search_part_posts"):
        if key in values and values[key] < 1:
            problems.append(Problem(shown, None, f"{key}: must be at least 1, got {values[key]}"))
    if "timezone" in values:
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            what = f"timezone: unknown zone {quoted(values['timezone'])}"
            problems.append(Problem(shown, None, what, "use e.g. Europe/London"))
    if problems:
        raise ProblemsFound(problems)
    if not values["feed_id_prefix"]:
        values["feed_id_prefix"] = values["base_url"]
    return Config(root=root, out_dir=out_dir if out_dir is not None else root / "site", **values)
