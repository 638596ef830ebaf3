"""The CMS at admin/: Decap CMS's bundle, installed by npm, and what its editing form needs,
made from the post contract and the tag vocabulary so that the form never drifts from what
the builder accepts (templates/admin/ turns these into config.yml and cms.js)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .config import Config
from .content import PRECISIONS, REQUIRED_KEYS
from .post_format import DANGLING, PHRASE_ENDS_BEFORE, SLUG_STOPWORDS, SLUG_WORDS
from .problems import Problem

# What the editing page loads, each from its npm package (package.json pins them): the CMS with
# the chunks it loads on demand, and markdown-it, the engine markdown-it-py ports, with its
# footnotes, so that the preview reads a post's Markdown as the build does.
SCRIPTS = {
    "decap-cms": ("dist/decap-cms.js", "dist/*.decap-cms.js", "dist/decap-cms.js.LICENSE.txt"),
    "markdown-it": ("dist/browser/markdown-it.umd.min.js",),
    "markdown-it-footnote": ("dist/markdown-it-footnote.min.js",),
}
TOOL_CHECKOUT = Path(__file__).resolve().parents[1]  # where `npm ci` put them beside the builder
FOLDER = "admin/"


def script_files(config: Config) -> list[Path] | Problem:
    """The files to copy into admin/, from the project's node_modules or the builder's own."""
    for root in (config.root, TOOL_CHECKOUT):
        modules = root / "node_modules"
        found = [sorted((modules / package).glob(p)) for package, ps in SCRIPTS.items() for p in ps]
        if all(found):
            return [file for files in found for file in files]
    return Problem("node_modules", None, "the CMS (decap-cms, markdown-it) is not installed", "run: npm ci")


def repository(config: Config) -> str:
    """The GitHub repository posts are saved to: from site.toml, or read off a GitHub Pages
    address (https://owner.github.io/name/); "" if neither says."""
    address = urlsplit(config.base_url)
    host = address.hostname or ""
    if config.repository or not host.endswith(".github.io"):
        return config.repository
    return f"{host.removesuffix('.github.io')}/{address.path.strip('/').split('/')[0] or host}"


def form_settings(config: Config) -> dict[str, Any]:
    """What the config.yml and cms.js templates fill in."""
    return {
        "repository": repository(config),
        "precisions": PRECISIONS,
        "required": REQUIRED_KEYS,
        "slug_rules": {
            "words": SLUG_WORDS,
            "stopwords": SLUG_STOPWORDS,
            "phraseEndsBefore": sorted(PHRASE_ENDS_BEFORE),
            "dangling": sorted(DANGLING),
        },
    }
