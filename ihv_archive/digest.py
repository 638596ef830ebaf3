"""Short stable digests: what caches and the render memo use as keys."""

from __future__ import annotations

import hashlib


def digest(*parts: bytes | str) -> str:
    """A 128-bit hex digest of the parts, each length-prefixed so that ('ab', 'c') != ('a', 'bc')."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()
