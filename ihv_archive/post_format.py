"""Writing the post file format: the one contract the builder and the importer share.

Both write front matter (`new` scaffolds a post; the importer writes the archive), and
neither may import the other's pipeline, so the piece they both need lives here.
"""

from __future__ import annotations

import json
import re

# Characters YAML will not keep as they are, even quoted: DEL, C1 controls (NEL is a line
# break to YAML), lone surrogates, U+FFFE/U+FFFF. JSON escapes C0 controls, not these.
NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_string(text: str) -> str:
    """Text as a YAML double-quoted scalar: JSON's string syntax is a subset of YAML's."""
    quoted = json.dumps(text, ensure_ascii=False)
    return NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
