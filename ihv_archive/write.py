"""Write: the ONLY writer of the output folder.

The whole site is written into a fresh folder beside the output folder and swapped into
place only when every file is written, so a failed or killed build never leaves a
half-written site, and files of deleted posts never survive a build.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .problems import Problem, ProblemsFound, display_path
from .render import Page


def refuse_unsafe_out_dir(out_dir: Path, protected: Iterable[Path]) -> None:
    """The output folder is replaced whole: never let it be the project or hold its sources."""
    out = out_dir.resolve()
    for path in protected:
        if path.resolve() == out or path.resolve().is_relative_to(out):
            raise ProblemsFound(
                [
                    Problem(
                        display_path(out_dir),
                        None,
                        f"cannot be the output folder: it holds {display_path(path)}",
                        "choose an empty folder or the default site/",
                    )
                ]
            )


def recover(out_dir: Path) -> None:
    """Clear what a killed build left beside the output folder; if it was killed between the
    two renames of the swap, the previous site is put back first."""
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.old-*"))
    if not out_dir.exists() and leftovers:
        leftovers.pop().rename(out_dir)
    for leftover in [*leftovers, *out_dir.parent.glob(f".{out_dir.name}.new-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


Signature = tuple[int, int, int]  # size, mtime (ns) and inode of a written file


@dataclass(frozen=True)
class Written:
    files: int  # files in the new site
    rewritten: int  # of those, files written anew (the rest are the old site's, unchanged)
    signatures: dict[PurePosixPath, Signature]  # of the files written anew


def signature(path: Path) -> Signature:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def files_below(folder: Path) -> set[str]:
    """Every file below a folder, by its path there ('posts/2024/x/index.html')."""
    top = str(folder)
    return {
        f"{below}/{name}" if (below := root[len(top) + 1 :].replace(os.sep, "/")) else name
        for root, _, names in os.walk(top)
        for name in names
    }


def write_site(pages: Iterable[Page], out_dir: Path, finish: Callable[[Path], None] | None = None) -> Written:
    """Write every page into out_dir, replacing what was there. A page without content is
    unchanged since the last build: its file is linked from the old site, not written again,
    so it keeps its bytes, inode and time. `finish` runs on the complete new site before it
    replaces the old one (the search index is made there); if it fails, the old site stays."""
    out_dir = out_dir.absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    count = 0
    signatures: dict[PurePosixPath, Signature] = {}
    folders: set[str] = set()
    old, new = str(out_dir), str(staging)  # plain strings: 10,000s of paths, no pathlib overhead
    try:
        for page in pages:
            # urls.output_file already refuses these; checked again here without touching the
            # disk (staging is new and holds no links, so only '..' or a root could leave it).
            rel = page.path.as_posix()
            if page.path.is_absolute() or ".." in rel.split("/"):
                raise ValueError(f"refusing to write outside the site folder: {page.path}")
            target = f"{new}/{rel}"
            folder = os.path.dirname(target)
            if folder not in folders:
                os.makedirs(folder, exist_ok=True)
                folders.add(folder)
            if page.content is None:
                keep(f"{old}/{rel}", target, out_dir)
            else:
                with open(target, "wb") as out:
                    out.write(page.content)
                    out.flush()  # so that the size and time below are final
                    stat = os.fstat(out.fileno())
                signatures[page.path] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            count += 1
        if finish is not None:
            finish(staging)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a web server must read it
        swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Written(count, len(signatures), signatures)


def keep(source: str, target: str, out_dir: Path) -> None:
    """Carry an unchanged file over from the old site: a hard link, so no bytes are written."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileNotFoundError:
        raise ProblemsFound(
            [
                Problem(
                    display_path(out_dir),
                    None,
                    f"{os.path.relpath(source, out_dir)} was removed while the site was being built",
                    "build again (the site folder is as it was)",
                )
            ]
        ) from None
    except OSError:  # a file system without hard links: copy the bytes instead
        shutil.copyfile(source, target)


def swap_into_place(staging: Path, out_dir: Path) -> None:
    """Two renames: the old site steps aside, the new one takes its name, the old one goes."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    retired.rmdir()
    out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except BaseException:
        retired.rename(out_dir)  # put the old site back
        raise
    shutil.rmtree(retired, ignore_errors=True)


def sync_site(
    pages: Iterable[Page], out_dir: Path, previous: dict[PurePosixPath, bytes] | None = None
) -> int:
    """Bring a folder up to date in place: the dev server's preview. Only files whose bytes
    changed are written (each atomically, so a reader never sees half a file), and files no
    page produces any more are removed. `previous` is what the last call wrote: with it, an
    unchanged page (the render memo hands back the very same bytes) costs no disk access at
    all. Returns the number of files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted: dict[PurePosixPath, bytes] = {}
    written = 0
    for page in pages:
        assert page.content is not None, "the preview's memo keeps every page's bytes"
        wanted[page.path] = page.content
        before = previous.get(page.path) if previous is not None else None
        if before is not None and (before is page.content or before == page.content):
            continue
        target = out_dir.joinpath(*page.path.parts)
        if previous is None and target.is_file() and target.read_bytes() == page.content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".", dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(page.content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
        written += 1
    if previous is not None:
        stale = [out_dir.joinpath(*path.parts) for path in previous if path not in wanted]
    else:
        stale = [
            p
            for p in out_dir.rglob("*")
            if p.is_file() and PurePosixPath(p.relative_to(out_dir).as_posix()) not in wanted
        ]
    for path in stale:
        path.unlink(missing_ok=True)
        for folder in path.parents:  # folders left empty go too
            if folder == out_dir or any(folder.iterdir()):
                break
            folder.rmdir()
    if previous is not None:
        previous.clear()
        previous.update(wanted)
    return written
