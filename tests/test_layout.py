"""The architecture's rules: the post file is the only contract; stages import no machinery."""

from __future__ import annotations

from pathlib import Path


def _project_imports(file: Path) -> set[str]:
    """The ihv_archive modules a file imports, as dotted names relative to the package."""
    import ast

    package = file.parent.relative_to(PROJECT_ROOT).as_posix().replace("/", ".")
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            found.add(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ihv_archive"):
            found.add(node.module)
    return found


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_the_importer_never_imports_the_builder_nor_the_builder_the_importer() -> None:
    importer = PROJECT_ROOT / "ihv_archive/importer"
    for file in importer.glob("*.py"):
        outside = {m for m in _project_imports(file) if not m.startswith("ihv_archive.importer")}
        assert outside <= {"ihv_archive.post_format"}, (file.name, outside)
    for file in (PROJECT_ROOT / "ihv_archive").glob("*.py"):
        if file.name == "cli.py":
            continue  # the command line dispatches to both, loading the importer only for `import`
        assert not any(m.startswith("ihv_archive.importer") for m in _project_imports(file)), file.name


STAGES = ("content", "load", "validate", "bodies", "presentation", "render", "markdown", "urls")
MACHINERY = ("cache", "write", "search", "serve", "pipeline")


def test_the_stages_import_no_cache_writer_search_server_or_pipeline() -> None:
    """One stage a module: the stages are pure steps; only the pipeline puts them together
    with the cache, the writer and the search index."""
    for stage in STAGES:
        imported = {m.rsplit(".", 1)[-1] for m in _project_imports(PROJECT_ROOT / f"ihv_archive/{stage}.py")}
        assert not imported & set(MACHINERY), (stage, imported & set(MACHINERY))


def test_only_the_writer_makes_or_deletes_files_in_the_output_folder() -> None:
    """No module but write.py calls what creates, replaces or deletes files (search.py hands
    the staging folder to Pagefind; cache.py writes its own file in .cache/)."""
    import re

    writing = re.compile(
        r"\b(os\.(link|rename|replace|unlink|rmdir|makedirs|mkdir)|shutil\.(rmtree|copyfile)|\.write_(bytes|text)|\.rename\(|\.unlink\()"
    )
    for file in (PROJECT_ROOT / "ihv_archive").glob("*.py"):
        if file.name in ("write.py", "cache.py", "new.py"):
            continue  # the writer; the cache's own file; `new`, which writes a post file (never the site)
        assert not writing.search(file.read_text()), file.name
