"""The command line: `python build.py build|check` (argparse only).

Content mistakes are printed as `file:line: message (fix)` with exit status 1, never as a
traceback: the people who meet them are editors, not programmers.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .config import load_config
from .load import load_tags
from .new import new_post
from .pipeline import BuildResult, Options, build, check, now_in
from .problems import ProblemsFound, display_path


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="build.py", description="Build the iHV news archive.")
    top.add_argument("--root", type=Path, default=Path("."), help="project folder (default: here)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = commands.add_parser("build", help="build site/ from content/")
    b.add_argument("--base-url", help="the published address, e.g. https://example.github.io/news-archive/")
    b.add_argument("--out", type=Path, help="output folder (default: site/)")
    b.add_argument("--no-cache", action="store_true", help="build everything again, ignoring .cache/")
    b.add_argument("--no-search", action="store_true", help="leave out the search index (faster)")

    c = commands.add_parser("check", help="check all content without writing anything")
    c.add_argument(
        "--site",
        nargs="?",
        const=Path("site"),
        type=Path,
        metavar="DIR",
        help="check a built site instead: links, feeds, page metadata (default folder: site/)",
    )
    c.add_argument("--base-url", help="the address the site was built for (default: from site.toml)")

    n = commands.add_parser("new", help="start a new post")
    n.add_argument("title", help='the title, in quotes: "Title of the post"')
    n.add_argument("--tags", default="", help="comma-separated tags from content/tags.toml")
    n.add_argument("--date", help="YYYY-MM-DD (default: today, in the site's time zone)")
    n.add_argument("--slug", help="the post's web address name (default: made from the title)")
    n.add_argument("--draft", action="store_true", help="start it as a draft")

    s = commands.add_parser("serve", help="preview the site, rebuilding as you edit")
    s.add_argument(
        "--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free port)"
    )
    s.add_argument("--drafts", action="store_true", help="show drafts, marked 'Draft'")
    s.add_argument("--future", action="store_true", help="show posts scheduled for later")

    i = commands.add_parser("import", help="turn the scraped listings in sources/ into posts in content/")
    i.add_argument("manifest", nargs="?", type=Path, default=Path("sources/manifest.toml"))
    i.add_argument("--content", type=Path, default=Path("content"), help="content folder (default: content/)")
    i.add_argument("--force", action="store_true", help="overwrite posts edited since they were imported")
    return top


def summary(result: BuildResult, out: str, seconds: float) -> str:
    """The one line a build ends with."""
    search = {"indexed": "search indexed", "reused": "search index unchanged", "off": "no search index"}
    return (
        f"Built {result.posts:,} posts: {result.pages:,} pages, {result.feeds:,} feeds, "
        f"{result.files:,} files in {out}/ in {seconds:.1f} s; "
        f"{result.rewritten:,} written, {result.files - result.rewritten:,} unchanged; {search[result.search]}"
    )


def report(problems: ProblemsFound, command: str) -> int:
    for problem in problems.problems:
        print(problem, file=sys.stderr)
    n = len(problems.problems)
    after = {"build": "; nothing was written, the site folder is as it was", "new": "; nothing was written"}
    print(f"{n} problem{'s' if n != 1 else ''} found{after.get(command, '')}.", file=sys.stderr)
    return 1


def check_built_site(args: argparse.Namespace) -> int:
    from .site_check import check_site

    config = load_config(args.root, base_url=args.base_url)
    folder = args.site if args.site.is_absolute() else args.root / args.site
    problems = check_site(folder, config.base_url)
    if problems:
        raise ProblemsFound(problems)
    count = sum(1 for _ in folder.rglob("*.html"))
    print(f"No problems: {count} pages checked under {config.base_url}")
    return 0


def new_command(args: argparse.Namespace) -> int:
    config = load_config(args.root)
    tags = load_tags(config)
    if isinstance(tags, list):
        raise ProblemsFound(tags)
    try:
        when = date.fromisoformat(args.date) if args.date else now_in(config).date()
    except ValueError:
        raise ProblemsFound.one(
            "new", None, f"--date {args.date!r} is not a date", "use YYYY-MM-DD, e.g. 2024-03-19"
        ) from None
    wanted = [t.strip() for t in args.tags.split(",") if t.strip()]
    path = new_post(config, tags, args.title, when, wanted, args.draft, args.slug)
    print(display_path(path))
    print("Next: write the summary and the post, then `python build.py serve` to see it.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line's commands."""
    args = parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.command == "build":
            config = load_config(args.root, base_url=args.base_url, out_dir=args.out)
            result = build(config, options=Options(search=not args.no_search), fresh=args.no_cache)
            for note in result.notes:
                print(note, file=sys.stderr)
            print(summary(result, display_path(config.out_dir), time.perf_counter() - started))
        elif args.command == "check" and args.site is not None:
            return check_built_site(args)
        elif args.command == "check":
            site, files = check(load_config(args.root))
            print(f"No problems: {len(site.posts)} posts would build {files} files.")
        elif args.command == "new":
            return new_command(args)
        elif args.command == "serve":
            from .serve import serve

            load_config(args.root)  # settings problems are reported before anything starts
            return serve(args.root, args.port, args.drafts, args.future)
        elif args.command == "import":
            # The importer is separate from the builder: loaded only for this command.
            from .importer.manifest import ImportFailed
            from .importer.run import run_import

            try:
                run_import(args.root / args.manifest, args.root / args.content, args.root, force=args.force)
            except ImportFailed as failed:
                for message in failed.messages:
                    print(message, file=sys.stderr)
                print("Nothing was written.", file=sys.stderr)
                return 1
    except ProblemsFound as problems:
        return report(problems, args.command)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except OSError as error:  # e.g. the port is taken, or a folder cannot be written
        print(f"{error.filename or 'error'}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0
