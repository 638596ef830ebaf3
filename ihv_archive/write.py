"""Write: the ONLY writer of the output folder.

The whole site is written into a fresh folder beside the output folder and swapped into
place only when every file is written, so a failed or killed build never leaves a
half-written site, and files of deleted posts never survive a build. The quick rebuild
(quick.py), which changes a few files of a site that keeps all the others, replaces them
in place instead, all of them or none (replace_files).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from stat import S_ISREG

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
    two renames of the swap, the previous site is put back first; if it was killed while
    replacing files in place, after it had committed to them, it is finished."""
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.old-*"))
    if not out_dir.exists() and leftovers:
        leftovers.pop().rename(out_dir)
    for leftover in [*leftovers, *out_dir.parent.glob(f".{out_dir.name}.new-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    for patch in sorted(out_dir.parent.glob(f".{out_dir.name}.patch-*")):
        if (patch / COMMIT).is_file() and out_dir.is_dir():
            put_in_place(patch, out_dir)
        else:
            shutil.rmtree(patch, ignore_errors=True)


COMMIT = "commit.json"  # in a patch folder: the files it puts in place (in the order of its file names), and removes


def replace_files(
    out_dir: Path,
    contents: dict[str, bytes],
    moved: dict[str, str] | None = None,
    removed: Collection[str] = (),
) -> dict[str, Signature]:
    """Replace some files of the site in place (each by its path there), all or none even if
    the build is killed meanwhile: the new files are written into a folder beside the site,
    then the list of them is saved (the commit), and only then is each renamed into place
    (atomically: a reader sees the old file or the new one). Killed before the commit, the
    site is as it was; after it, `recover` finishes the renames. `moved` files are made
    elsewhere on the same disk (the search index: quick.py), and are renamed, not copied;
    `removed` ones go, after the others are in place. Returns the new files' signatures."""
    moved = moved or {}
    put = [checked(PurePosixPath(rel)) for rel in [*contents, *moved]]
    gone = [checked(PurePosixPath(rel)) for rel in removed]
    folder = tempfile.mkdtemp(prefix=f".{out_dir.name}.patch-", dir=out_dir.parent)
    try:
        signatures = {}
        for n, rel in enumerate(put):
            if rel in contents:
                signatures[rel] = write_file(folder, str(n), contents[rel])
            else:
                os.rename(moved[rel], f"{folder}/{n}")
                signatures[rel] = signature(f"{folder}/{n}")
        with open(f"{folder}/{COMMIT}.new", "w", encoding="utf-8") as commit:
            json.dump({"put": put, "remove": gone}, commit)
        os.replace(f"{folder}/{COMMIT}.new", f"{folder}/{COMMIT}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # not committed: the site stays as it was
        raise
    put_in_place(Path(folder), out_dir)
    return signatures  # a rename keeps a file's size, time and inode


def put_in_place(patch: Path, out_dir: Path) -> None:
    """Rename a committed patch's files into the site, remove those it removes, then the patch."""
    commit = json.loads((patch / COMMIT).read_text(encoding="utf-8"))
    top = str(out_dir)
    for n, rel in enumerate(commit["put"]):
        if not os.path.exists(f"{patch}/{n}"):
            continue  # put in place before a build was killed
        folders_for(top, checked(PurePosixPath(rel)))  # a new part of the search index has new folders
        os.replace(f"{patch}/{n}", f"{top}/{rel}")
    for rel in commit["remove"]:
        with suppress(FileNotFoundError):  # removed before a build was killed
            remove_file(out_dir, checked(PurePosixPath(rel)))
    shutil.rmtree(patch, ignore_errors=True)


Signature = tuple[int, int, int]  # size, mtime (ns) and inode of a written file


@dataclass(frozen=True)
class Written:
    files: int  # files in the new site
    rewritten: int  # of those, files written anew (the rest are the old site's, unchanged)
    signatures: dict[PurePosixPath, Signature]  # of the files `write` put there (written or linked)


def signature(path: Path | str) -> Signature:
    stat = os.stat(path)
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def signature_if_present(path: Path | str) -> Signature | None:
    try:
        return signature(path)
    except OSError:
        return None


def files_below(folder: Path) -> set[str]:
    """Every file below a folder, by its path there ('posts/2024/x/index.html'). As os.walk
    lists them (a link to a folder is not followed, nor listed), without its stat of every
    folder: a site has 10,000s of them, and the kind of each entry comes with its name."""
    found: set[str] = set()

    def visit(path: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir():
                found.add(prefix + entry.name)
            elif not entry.is_symlink():
                visit(entry.path, f"{prefix}{entry.name}/")

    visit(str(folder), "")
    return found


def files_intact(folder: Path, recorded: dict[str, Signature]) -> bool:
    """Is every recorded file below the folder still the very file that was written?"""
    top = str(folder)  # plain strings: 10,000s of paths, no pathlib overhead
    return all(signature_if_present(f"{top}/{name}") == expected for name, expected in recorded.items())


FolderSignature = tuple[int, int]  # mtime (ns) and inode of a folder
RACY_NS = 2_000_000_000  # a folder changed this recently may change again within the same clock tick


@dataclass(frozen=True)
class Folders:
    """The folders of a site, as they were when its files were last written. A folder's
    modification time changes whenever a name is added to it, removed or renamed, so while
    its signature is the same it holds the same names: it need not be listed again. A
    signature taken within a clock tick of the folder's last change vouches for nothing
    (git's "racy" rule, as load.ParseCache has it for post files): those are listed."""

    signatures: dict[str, FolderSignature]  # by path below the site folder ("" is the folder itself)
    racy: frozenset[str]

    @classmethod
    def of(cls, top: Path, files: Iterable[str], racy: Iterable[str] = ()) -> Folders | None:
        """The signatures of the folders holding these files, taken now; None if one is gone.
        The `racy` folders are taken as changed just now whatever their times say."""
        settled = time.time_ns() - RACY_NS
        signatures: dict[str, FolderSignature] = {}
        recent = set(racy)
        for folder in names_by_folder(files):
            if (found := folder_stat(top, folder)) is None:
                return None
            signatures[folder] = (found.st_mtime_ns, found.st_ino)
            if found.st_mtime_ns >= settled or found.st_ctime_ns >= settled:
                recent.add(folder)
        return cls(signatures, frozenset(recent))

    def settled(self, checked_from_ns: int) -> Folders:
        """These signatures once a check that began at `checked_from_ns` (time.time_ns()) has
        found every folder as signed, and the racy ones holding their names (holds_only). A
        racy folder whose time is well before that check's was not changed within the clock
        tick the check began in: the names it was found with are those it holds while its
        signature stays the same, so it need not be listed again."""
        before = checked_from_ns - RACY_NS
        racy = frozenset(name for name in self.racy if self.signatures[name][0] >= before)
        return self if racy == self.racy else replace(self, racy=racy)

    def touched(self, top: Path, files: Iterable[str]) -> Folders | None:
        """These signatures after the files were replaced in place (replace_files): the folders
        holding them taken again, as changed just now (they are listed, in case a name was
        added to one by hand beforehand)."""
        changed = {file.rpartition("/")[0] for file in files}
        signatures = dict(self.signatures)
        for folder in changed:
            if (found := folder_stat(top, folder)) is None:
                return None
            signatures[folder] = (found.st_mtime_ns, found.st_ino)
        return Folders(signatures, self.racy | changed)


@dataclass(frozen=True)
class Listing:
    """The files below a folder, and its folders' signatures, which vouch for them while they
    are unchanged (holds_only). The build cache keeps one for its spare site."""

    files: tuple[str, ...]
    folders: Folders

    @classmethod
    def moved(cls, files: Collection[str], folders: Folders) -> Listing:
        """A site's listing for after it is moved (a site retired to be the spare): moving a
        folder may change its own time on some file systems, so the top one is listed again."""
        return cls(tuple(files), replace(folders, racy=folders.racy | {""}))


def folder_stat(top: Path, folder: str) -> os.stat_result | None:
    """A folder below `top` ("" is `top`), as it is now; None if it is gone."""
    try:
        return os.stat(f"{top}/{folder}" if folder else top, follow_symlinks=False)
    except OSError:
        return None


def names_by_folder(files: Iterable[str]) -> dict[str, set[str]]:
    """For files below a folder (by their paths there), every folder that holds them ("" is
    the top one) with the names of the files and folders it holds."""
    names: dict[str, set[str]] = {"": set()}
    for file in files:
        parent, _, name = file.rpartition("/")
        while True:
            known = parent in names
            names.setdefault(parent, set()).add(name)
            if known or not parent:
                break
            parent, _, name = parent.rpartition("/")
    return names


def holds_exactly(folder: Path, recorded: dict[str, Signature], folders: Folders | None = None) -> bool:
    """files_intact, and no other file below the folder."""
    return files_intact(folder, recorded) and holds_only(folder, recorded.keys(), folders)


def holds_only(folder: Path, files: Collection[str], folders: Folders | None = None) -> bool:
    """Are these all the files below the folder? With the folders' signatures, only the
    folders whose signature cannot vouch for their names are listed."""
    if folders is None:
        return files_below(folder) == set(files)
    top = str(folder)
    expected = names_by_folder(files)
    if expected.keys() != folders.signatures.keys():
        return False
    for name, signature in folders.signatures.items():
        found = folder_stat(folder, name)
        if found is None or (found.st_mtime_ns, found.st_ino) != signature:
            return False
        if name in folders.racy:
            try:
                if set(os.listdir(f"{top}/{name}" if name else top)) != expected[name]:
                    return False
            except OSError:  # gone meanwhile
                return False
    return True


def write_site(pages: Iterable[Page], out_dir: Path, finish: Callable[[Path], None] | None = None) -> Written:
    """Write every page into out_dir, replacing what was there: pages rendered in memory, made
    into a site in a Staging folder and swapped in."""
    with Staging(out_dir) as staging:
        return staging.complete(pages, finish)


class Staging:
    """The new site, made in a folder beside the old one and swapped in only when complete,
    so a failed or killed build leaves the old site as it was.

    Pages may be written into it while they are rendered (`write`, also from a render worker:
    it touches nothing but the page's file), so a build need not hold the whole site in
    memory. A page without content is unchanged since the last build: `complete` links its
    file from the old site, so it keeps its bytes, inode and time.

    With a `spare` folder (the build cache's), the site the swap retires is kept there, and
    the next build starts from it instead of from nothing: a whole site of folders is costly
    to make and to delete, and after a small edit only a few of its files differ. A spare's
    files may be the live site's too (hard links), so they are replaced, never written into.
    `spare_holds` is what the spare held when it was put there, as the build cache recorded it."""

    def __init__(self, out_dir: Path, spare: Path | None = None, spare_holds: Listing | None = None) -> None:
        self.out_dir = out_dir.absolute()
        self.spare = spare
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out_dir)
        claimed = claim(spare, self.out_dir) if spare is not None else None
        self.from_spare = claimed is not None
        self.folder = claimed or Path(
            tempfile.mkdtemp(prefix=f".{self.out_dir.name}.new-", dir=self.out_dir.parent)
        )
        # What the spare holds, found before anything is written into it: as recorded, if its
        # folders' signatures vouch for that (listing the 10,000s of folders of a site takes a
        # second), otherwise by listing them.
        self.in_spare: set[str] = set()
        if claimed is not None:
            if spare_holds and holds_only(claimed, spare_holds.files, spare_holds.folders):
                self.in_spare = set(spare_holds.files)
            else:
                self.in_spare = files_below(claimed)
        self.signatures: dict[PurePosixPath, Signature] = {}  # of the files `write` put here
        self.old_site = self.out_dir.is_dir()
        self.relinked = 0  # files `write` found unchanged in the old site, and linked
        self.done = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        if not self.done:
            self.abandon(as_spare=not isinstance(error, WRONG_SHAPE))

    def write(self, path: PurePosixPath, content: bytes) -> Signature:
        """A page's file, written now (a spare's file at that path is replaced). If the old
        site's file there already holds these bytes, it is linked instead: after a build
        without the cache (`--no-cache`, a new version of the code), most pages come out as
        they were, and then the site it retires still shares their files, so the build after
        it starts from a spare that is up to date instead of one to replace file by file."""
        rel = checked(path)
        with suppress(FileNotFoundError):
            os.unlink(f"{self.folder}/{rel}")
        old = f"{self.out_dir}/{rel}"
        if self.old_site and holds(old, content):
            with suppress(OSError):  # gone meanwhile, or no hard links here: write it
                return link_file(str(self.folder), rel, old)
        return write_file(str(self.folder), rel, content)

    def wrote(self, path: PurePosixPath, signature: Signature) -> None:
        """Note a file `write` made (in this process or a render worker)."""
        self.signatures[path] = signature
        if self.old_site and signature_if_present(f"{self.out_dir}/{checked(path)}") == signature:
            self.relinked += 1  # the old site's very file: not rewritten

    def complete(self, pages: Iterable[Page], finish: Callable[[Path], None] | None = None) -> Written:
        """Make the folder hold exactly the pages, run `finish` on it (the search index is made
        there), and swap it in; if anything fails, the old site stays."""
        old, new = str(self.out_dir), str(self.folder)  # plain strings: 10,000s of paths, no pathlib overhead
        present = self.in_spare
        count = 0
        for page in pages:
            rel = checked(page.path)
            there = rel in present
            present.discard(rel)
            count += 1
            if page.content is not None:
                self.wrote(page.path, self.write(page.path, page.content))
            elif page.path not in self.signatures:  # unchanged: the old site's file
                source, target = f"{old}/{rel}", f"{new}/{rel}"
                if there and os.stat(target).st_ino == os.stat(source).st_ino:
                    continue  # the spare already has this very file
                if there:
                    os.unlink(target)
                keep(source, target, self.out_dir)
        for rel in present:  # files of a spare that this site does not have
            remove_file(self.folder, rel)
        if finish is not None:
            finish(self.folder)
        os.chmod(self.folder, 0o755)  # mkdtemp makes it private; a web server must read it
        swap_into_place(self.folder, self.out_dir, self.spare)
        self.done = True
        return Written(count, len(self.signatures) - self.relinked, self.signatures)

    def abandon(self, as_spare: bool = True) -> None:
        """Not to be swapped in: back to being the spare (whatever it holds now, its files are
        only ever replaced, so it is still a good start), or deleted."""
        self.done = True
        if as_spare and self.from_spare and self.spare is not None:
            with suppress(OSError):
                self.folder.rename(self.spare)
                return
        shutil.rmtree(self.folder, ignore_errors=True)


# What a spare of another shape than the new site raises (a folder where a file goes, or a
# file where a folder goes): the build starts again without it.
WRONG_SHAPE = (FileExistsError, IsADirectoryError, NotADirectoryError)


def checked(path: PurePosixPath) -> str:
    """A page's path as a string, refusing any that could leave the site folder. urls.output_file
    already refuses these; checked again here without touching the disk (staging is ours and
    holds no links to folders: only '..' or a root could leave it)."""
    rel = path.as_posix()
    if path.is_absolute() or ".." in rel.split("/"):
        raise ValueError(f"refusing to write outside the site folder: {path}")
    return rel


def claim(spare: Path, out_dir: Path) -> Path | None:
    """Take the spare folder as this build's staging folder (a rename: it is ours alone)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        staging.rmdir()
        spare.rename(staging)
    except OSError:  # none, or on another file system
        shutil.rmtree(spare, ignore_errors=True)
        return None
    return staging


def write_file(top: str, rel: str, content: bytes) -> Signature:
    """A new file below `top` (never written into an existing one, which a spare may share
    with the live site)."""
    target = f"{top}/{rel}"
    folders_for(top, rel)
    with open(target, "xb") as out:
        out.write(content)
        out.flush()  # so that the size and time below are final
        stat = os.fstat(out.fileno())
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def holds(path: str, content: bytes) -> bool:
    """Is the file at path a plain file (not a link) holding exactly these bytes?"""
    try:  # not through a link, and without waiting for a writer if someone left a pipe there
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with open(descriptor, "rb") as file:
        found = os.fstat(descriptor)
        if not S_ISREG(found.st_mode) or found.st_size != len(content):
            return False
        return file.read(len(content) + 1) == content


def link_file(top: str, rel: str, source: str) -> Signature:
    """A new name below `top` for the file at source (a hard link: no bytes written)."""
    target = f"{top}/{rel}"
    folders_for(top, rel)
    os.link(source, target, follow_symlinks=False)
    found = os.stat(target, follow_symlinks=False)
    return (found.st_size, found.st_mtime_ns, found.st_ino)


def folders_for(top: str, rel: str) -> None:
    """The folders a new file at `rel` below `top` needs, made on demand (from a spare most
    exist), but never `top` itself: a render worker that outlives a killed build must not
    bring back the staging folder that the next build cleared away."""
    if (folder := os.path.dirname(rel)) and not os.path.isdir(f"{top}/{folder}"):
        make_folder(top, folder)


def make_folder(top: str, rel: str) -> None:
    """A folder below `top`, and those above it up to `top` (which must exist)."""
    try:
        os.mkdir(f"{top}/{rel}")
    except FileExistsError:
        pass
    except FileNotFoundError:
        if not (parent := os.path.dirname(rel)):
            raise  # `top` itself is gone
        make_folder(top, parent)
        make_folder(top, rel)


def remove_file(top: Path, rel: str) -> None:
    """Remove a file, and the folders it leaves empty."""
    os.unlink(f"{top}/{rel}")
    folder = os.path.dirname(rel)
    while folder:
        try:
            os.rmdir(f"{top}/{folder}")
        except OSError:  # not empty
            return
        folder = os.path.dirname(folder)


def keep(source: str, target: str, out_dir: Path) -> None:
    """Carry an unchanged file over from the old site: a hard link, so no bytes are written."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileNotFoundError:
        if not os.path.isdir(os.path.dirname(target)):  # its folder is made on demand
            os.makedirs(os.path.dirname(target), exist_ok=True)
            return keep(source, target, out_dir)
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


def swap_into_place(staging: Path, out_dir: Path, spare: Path | None = None) -> None:
    """Two renames: the old site steps aside, the new one takes its name; the old one goes,
    or becomes the spare that the next build starts from."""
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
    if spare is not None:
        try:
            spare.parent.mkdir(parents=True, exist_ok=True)
            retired.rename(spare)
            return
        except OSError:  # on another file system: it cannot be kept
            pass
    shutil.rmtree(retired, ignore_errors=True)


def sync_site(
    pages: Iterable[Page], out_dir: Path, previous: dict[PurePosixPath, bytes | None] | None = None
) -> int:
    """Bring a folder up to date in place: the dev server's preview. Only files whose bytes
    changed are written (each atomically, so a reader never sees half a file), and files no
    page produces any more are removed. `previous` is what the last call wrote: with it, an
    unchanged page (the render memo hands back the very same bytes) costs no disk access at
    all. Without it, every other file in the folder is removed. A page without bytes is one
    whose file the folder holds already (the last start's preview, as its cache vouched for
    it: serve.Rebuilder.publish). Returns the number of files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted: dict[PurePosixPath, bytes | None] = {}
    written = 0
    for page in pages:
        wanted[page.path] = page.content
        if page.content is None:
            continue
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
    else:  # by plain strings: some 25,000 files and folders at 10,000 posts
        names = {path.as_posix() for path in wanted}
        stale = [out_dir / name for name in files_below(out_dir) if name not in names]
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
