"""House rules that keep the code base readable: module docstrings, no blocking calls in
handlers, every user-facing reply going through the translation catalogue, and the import
contract of the layout (the core free of Telegram and the handlers, storage free of the
handlers) failing when it is broken."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
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


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages and pyproject.toml, copied, to break the contract in."""
    tree = tmp_path_factory.mktemp("layout")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_import_contract_holds() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("bot/core/workflow.py", "import telegram", "The core (bot.core) imports neither"),
        ("bot/core/cards.py", "from handlers import context", "The core (bot.core) imports"),
        ("storage/office.py", "import handlers.admin", "Storage imports neither"),
    ],
)
def test_the_import_contract_fails_when_broken(
    project_copy: Path, module: str, line: str, contract: str
) -> None:
    path = project_copy / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # noqa\n", encoding="utf-8")
    try:
        result = _lint_imports(project_copy)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
