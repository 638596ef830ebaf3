"""Search: Pagefind indexes the built site (the `pagefind[extended]` package ships its binary).

Only post articles carry `data-pagefind-body`, so navigation and lists stay out of the index;
post tags are a filter. The index is written into the site before it is swapped into place,
so a site and its index are always published together.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .problems import Problem, ProblemsFound


def index_search(site_dir: Path, language: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(site_dir),
        "--force-language",
        language.lower(),
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
