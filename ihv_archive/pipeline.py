"""The build, as a recipe: write(render(validate(load(config))))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .config import Config
from .load import load
from .problems import ProblemsFound
from .render import Page, render
from .search import index_search
from .validate import Site, validate
from .write import refuse_unsafe_out_dir, write_site


@dataclass(frozen=True)
class BuildResult:
    posts: int
    files: int


def now_in(config: Config) -> datetime:
    return datetime.now(config.zone)


def check(config: Config, now: datetime | None = None) -> tuple[Site, list[Page]]:
    """Everything a build does except writing: raises ProblemsFound listing every problem."""
    site = validate(load(config), config, now or now_in(config))
    pages, problems = render(site)
    if site.problems or problems:
        raise ProblemsFound([*site.problems, *problems])
    return site, pages


def build(config: Config, now: datetime | None = None) -> BuildResult:
    refuse_unsafe_out_dir(config.out_dir, [config.root, config.content_dir, config.templates_dir])
    site, pages = check(config, now)
    files = write_site(pages, config.out_dir, finish=lambda staging: index_search(staging, config.language))
    return BuildResult(posts=len(site.posts), files=files)
