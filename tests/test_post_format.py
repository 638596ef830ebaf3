"""The post file format as written: any title survives YAML unchanged."""

from __future__ import annotations

import yaml

from ihv_archive.post_format import yaml_string


def test_any_text_reads_back_from_yaml_as_written() -> None:
    for text in [
        'He said "no": & £ – “quotes”',
        "line\nbreak",
        "\x85 NEL \u2028",
        "#not a comment",
        "- not a list",
    ]:
        assert yaml.safe_load(f"title: {yaml_string(text)}")["title"] == text
