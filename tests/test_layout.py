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
