"""Writing the post file format: the one contract the builder and the importer share.

Both write front matter (`new` scaffolds a post; the importer writes the archive), and
neither may import the other's pipeline, so the piece they both need lives here.
"""

from __future__ import annotations

import json
import re

from slugify import slugify

# Characters YAML will not keep as they are, even quoted: DEL, C1 controls (NEL is a line
# break to YAML), lone surrogates, U+FFFE/U+FFFF. JSON escapes C0 controls, not these.
NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_string(text: str) -> str:
    """Text as a YAML double-quoted scalar: JSON's string syntax is a subset of YAML's."""
    quoted = json.dumps(text, ensure_ascii=False)
    return NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


# A post's address comes from its headline (`new` and the importer): at most about six words,
# leaving out words that carry nothing in an address, and words like "today" that go stale.
SLUG_WORDS = 6
_STOPWORDS = (
    "a an and are as at be by for from has have in into is it its of on or our over s that the their"
    " to was we were will with new today todays yesterday yesterdays tomorrow tonight this week"
    " weeks month last next earlier latest recently"
)
SLUG_STOPWORDS = _STOPWORDS.split()


# Words a shortened address must not end on: it would stop mid-phrase.
_DANGLING = (
    "about across after against ahead amid among before between but calls can could down during each"
    " every how if more most must not off out says should so than through under up via what whats when"
    " which while who why within without would you"
)
DANGLING = set(_DANGLING.split())


def slug_from_title(title: str) -> str:
    """ "Babies’ “Manifesto” costs £1bn: what’s next?" -> "babies-manifesto-costs-1bn"."""
    spaced = re.sub(r"[£\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", title)  # control characters part words
    words = slugify(spaced, stopwords=SLUG_STOPWORDS).split("-")[:SLUG_WORDS]
    while len(words) > 1 and words[-1] in DANGLING:
        words.pop()
    return "-".join(words)
