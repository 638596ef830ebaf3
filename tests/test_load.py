"""Load: files -> Posts and problems; a file is parsed again only when what it depends on changed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ihv_archive import load as load_module
from ihv_archive.config import load_config
from ihv_archive.content import Post
from ihv_archive.load import load, post_files

GOOD = "---\ntitle: T\ndate: 2024-05-05\ntags: [policy]\nsummary: S\n---\nBody.\n"


def test_every_post_file_is_found_but_editors_temporary_files_and_hidden_folders(archive: Path) -> None:
    posts = archive / "content/posts"
    for name in ("2024/.#draft.md", "2024/draft.md~", "2024/~lock.md", ".hidden/x.md", "2024/notes.txt"):
        (posts / name).parent.mkdir(parents=True, exist_ok=True)
        (posts / name).write_text(GOOD)
    found = [rel for rel, _ in post_files(posts)]
    assert found == sorted(found) and len(found) == 9
    assert not any(name.rsplit("/", 1)[-1].startswith((".", "~")) or name.endswith("~") for name in found)


def test_an_unchanged_file_is_not_parsed_again_and_a_changed_one_is(archive: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = load_config(archive)
    first = load(config)
    parsed: list[str] = []
    real = load_module.parse
    monkeypatch.setattr(
        load_module, "parse", lambda raw, path, *a: parsed.append(path) or real(raw, path, *a)
    )
    again = load(config, first.parsed)
    assert parsed == [] and again.posts == first.posts
    post = archive / "content/posts/2023/year-only.md"
    post.write_text(post.read_text().replace("Text.", "Text, edited."))
    third = load(config, again.parsed)
    assert parsed == [f"{config.posts_dir}/2023/year-only.md".replace(f"{os.getcwd()}/", "")]
    assert len(third.parsed) == len(first.parsed)  # only this load's files: the old key is gone


def test_a_change_to_the_vocabulary_parses_every_post_again(archive: Path) -> None:
    config = load_config(archive)
    first = load(config)
    tags = archive / "content/tags.toml"
    tags.write_text(tags.read_text().replace("Keeping children safe.", "Safety."))
    again = load(config, first.parsed)
    assert not set(again.parsed) & set(first.parsed)


def test_a_pipe_in_the_posts_folder_is_named_never_opened(archive: Path) -> None:
    """Opening a FIFO waits for a writer for ever: the load must not hang on one."""
    os.mkfifo(archive / "content/posts/2024/pipe.md")
    result: list[object] = []
    loader = threading.Thread(target=lambda: result.append(load(load_config(archive))), daemon=True)
    loader.start()
    loader.join(timeout=30)
    assert result, "the load hung on a pipe"
    (loaded,) = result
    assert [str(p) for p in loaded.problems] == [  # type: ignore[attr-defined]
        f"{archive}/content/posts/2024/pipe.md: is not a regular file (remove it, or save the post as a plain file)".replace(
            f"{os.getcwd()}/", ""
        )
    ]
    assert all(isinstance(p, Post) for p in loaded.posts)  # type: ignore[attr-defined]
