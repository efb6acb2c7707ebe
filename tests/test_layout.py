"""The layout rules that import-linter cannot see: the project's own modules are imported at the top of a file
(an import inside a function hides a dependency, and usually a cycle), unless a comment on that line says why."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OWN = {"config", "operations", "pipeline", "notifications", "linking", "deliveries", "connector", "accounts", "sandbox",
       "bench"}


def _python_files():
    for package in sorted(OWN):
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _own_imports_inside_functions(path: Path) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                names = [inner.module]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            if any(name.split(".")[0] in OWN for name in names) and "#" not in lines[inner.lineno - 1]:
                found.append(f"{path.relative_to(REPO)}:{inner.lineno}: {lines[inner.lineno - 1].strip()}")
    return found


def test_own_modules_are_imported_at_the_top_of_the_file():
    offenders = [line for path in _python_files() for line in _own_imports_inside_functions(path)]
    assert offenders == [], "Import these at the top of the file, or say why not in a comment:\n" + "\n".join(offenders)
