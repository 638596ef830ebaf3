"""The one place for URLs and output paths."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from ihv_archive.urls import UnsafePath, Urls

from .test_content import GOOD, parse_text


def test_site_paths_links_and_files() -> None:
    urls = Urls("https://example.github.io/news-archive/")
    post = parse_text(GOOD, "2024/manifesto.md")
    assert urls.post(post) == "posts/2024/manifesto/"
    assert urls.href(urls.post(post)) == "/news-archive/posts/2024/manifesto/"
    assert (
        urls.absolute(urls.tag("policy", 2)) == "https://example.github.io/news-archive/tags/policy/page/2/"
    )
    assert Urls.output_file(urls.home()) == PurePosixPath("index.html")
    assert Urls.output_file(urls.home(3)) == PurePosixPath("page/3/index.html")
    assert Urls.output_file(urls.RSS) == PurePosixPath("feed.xml")
    assert Urls.output_file(urls.alias("/old/page.html")) == PurePosixPath("old/page.html")


@pytest.mark.parametrize("path", ["../x/", "a/../../x", "/etc/passwd", "a//b", "%2e%2e/x", "a\\..\\b", "./x"])
def test_no_site_path_can_leave_the_output_folder(path: str) -> None:
    with pytest.raises(UnsafePath):
        Urls.output_file(path)
