"""Search: Pagefind indexes the built site (the `pagefind[extended]` package ships its binary).

Only post articles carry `data-pagefind-body`, so navigation and lists stay out of the index;
post tags are a filter. The index is written into the site before it is swapped into place,
so a site and its index are always published together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .problems import Problem, ProblemsFound
from .urls import Urls
from .write import Signature, signature

INDEX = "pagefind"  # the index's folder in the site


def index_files(site_dir: Path) -> dict[str, Signature]:
    """The index's files and their signatures, so that the next build can tell it is intact."""
    folder = site_dir / INDEX
    return {
        f.relative_to(site_dir).as_posix(): signature(f) for f in sorted(folder.rglob("*")) if f.is_file()
    }


def index_intact(site_dir: Path, recorded: dict[str, Signature]) -> bool:
    """Is every file of the recorded index still the very file that was written?"""
    for name, expected in recorded.items():
        try:
            if signature(site_dir / name) != expected:
                return False
        except OSError:
            return False
    return True


def keep_index(old_site: Path, staging: Path, recorded: dict[str, Signature]) -> bool:
    """Carry the last build's index over (hard links) if it is still the very one it wrote."""
    if not recorded or not index_intact(old_site, recorded):
        return False
    for name in recorded:
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old_site / name, target)
        except OSError:
            shutil.rmtree(staging / INDEX, ignore_errors=True)
            return False
    return True


def index_search(site_dir: Path, language: str) -> dict[str, Signature]:
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(site_dir),
        "--force-language",
        language.lower(),
        "--glob",  # only post pages carry data-pagefind-body: the others need not even be read
        Urls.POST_PAGES,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProblemsFound([Problem("search index", None, f"Pagefind could not run: {error}")]) from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        missing = "No module named pagefind" in result.stderr
        raise ProblemsFound(
            [
                Problem(
                    "search index",
                    None,
                    "Pagefind is not installed"
                    if missing
                    else f"Pagefind failed: {detail[-1] if detail else result.returncode}",
                    "python -m pip install 'pagefind[extended]'" if missing else "",
                )
            ]
        )
    return index_files(site_dir)
