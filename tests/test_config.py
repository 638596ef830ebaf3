"""Site settings: site.toml -> Config."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihv_archive.config import config_from_dict
from ihv_archive.problems import ProblemsFound

SETTINGS = {"title": "T", "description": "D", "base_url": "https://example.github.io/news-archive"}


def test_config_defaults_and_base_url_normalised(tmp_path: Path) -> None:
    config = config_from_dict(SETTINGS, tmp_path)
    assert config.base_url == "https://example.github.io/news-archive/"
    assert (config.language, config.timezone, config.posts_per_page, config.allow_html) == (
        "en-GB",
        "Europe/London",
        10,
        False,
    )
    assert config.out_dir == tmp_path / "site"
    assert (
        config_from_dict(SETTINGS, tmp_path, base_url="http://127.0.0.1:8000//").base_url
        == "http://127.0.0.1:8000/"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"titel": "x"}, "unknown setting 'titel' (did you mean 'title'?)"),
        ({"base_url": "example.org/news"}, "base_url: 'example.org/news' is not an absolute http(s) URL"),
        ({"posts_per_page": 0}, "posts_per_page: must be at least 1"),
        ({"posts_per_page": "ten"}, "posts_per_page: expected int"),
        ({"allow_html": 1}, "allow_html: expected bool"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown zone"),
        (
            {"email_updates_url": "mailchimp sign-up"},
            "email_updates_url: 'mailchimp sign-up' is not an absolute",
        ),
        ({"cms_auth_url": "auth.workers.dev"}, "cms_auth_url: 'auth.workers.dev' is not an absolute"),
        ({"repository": "https://github.com/ihv/news"}, "is not a GitHub repository's owner/name"),
    ],
)
def test_config_mistakes(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(ProblemsFound) as raised:
        config_from_dict({**SETTINGS, **change}, tmp_path)
    assert expected in str(raised.value)
