"""House rules that keep the code base readable: module docstrings, no blocking calls in
handlers, every user-facing reply going through the translation catalogue."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "web")
MODULES = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_says_what_it_holds(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not tree.body:  # empty package marker
        return
    docstring = ast.get_docstring(tree)
    assert docstring, f"{path.relative_to(ROOT)} needs a module docstring"


BLOCKING_CALLS = {"open", "sleep", "read_text", "read_bytes", "write_text", "write_bytes"}


@pytest.mark.parametrize("path", sorted((ROOT / "handlers").glob("*.py")), ids=lambda p: p.name)
def test_handlers_make_no_blocking_calls(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in BLOCKING_CALLS, f"{path.name}:{node.lineno} calls {name}()"
        if isinstance(node, ast.Import):
            modules = {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules = {node.module or ""}
        else:
            continue
        assert not {"requests", "sqlite3", "time"} & modules, f"{path.name} imports {modules}"
