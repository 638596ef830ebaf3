"""Digests: the keys of the cache."""

from __future__ import annotations

from ihv_archive.digest import digest


def test_parts_are_kept_apart_and_text_and_bytes_agree() -> None:
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("é") == digest("é".encode())
    assert len(digest("x")) == 32 and digest("x") == digest("x")
