"""The checks `make lint` runs: the import contracts (import-linter, ``[tool.importlinter]``), mypy,
strict on the typed core (``[tool.mypy]``), and ruff's rule against imports inside functions
(PLC0415), all read from pyproject.toml.

Each passes on the tree, and fails on a planted violation in a copy of it (the Python files and
pyproject.toml only), so a contract or a strict section that stopped checking would fail here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]

#: planted file -> (its source, the contract that must break)
PLANTED_IMPORTS = {
    "platforms/_planted_up.py": ("from registry.models import Account\n", "Domains depend downwards only"),
    "common/_planted_ext.py": ("from extensions import db\n", "not extensions"),
    "registry/_planted_devkit.py": ("import devkit.seed\n", "do not import test and benchmark code"),
    "sandbox/_planted_app.py": ("import platforms.errors\n", "The sandbox is a separate program"),
}
#: An import inside a function in application code, bare and with its reason.
PLANTED_INLINE_IMPORT = "registry/_planted_inline.py"
INLINE_IMPORT = "def later() -> object:\n    import json\n\n    return json\n"
INLINE_IMPORT_WITH_REASON = "def later() -> object:\n    import json  # noqa: PLC0415  a reason\n\n    return json\n"
PLANTED_TYPE_ERROR = (
    "moderation/checks/_planted_types.py",
    "def width(text: str) -> int:\n    return text\n\n\ndef untyped(x):\n    return x\n",
)


def _run(tool: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [str(BIN / tool), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree's Python files and pyproject.toml, without caches, data, templates or node_modules."""
    dest = tmp_path_factory.mktemp("lint") / "govmedia"
    dest.mkdir()

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n == "__pycache__" or (Path(directory, n).is_file() and not n.endswith(".py"))}

    for name in PACKAGES:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for path in ROOT.glob("*.py"):
        shutil.copy2(path, dest / path.name)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_import_contracts_hold_on_the_tree(tree_copy: Path) -> None:
    result = _run("lint-imports", tree_copy, "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_import_contracts_fail_on_planted_imports(tree_copy: Path) -> None:
    for rel, (source, _) in PLANTED_IMPORTS.items():
        (tree_copy / rel).write_text(source)
    try:
        result = _run("lint-imports", tree_copy, "--no-cache")
    finally:
        for rel in PLANTED_IMPORTS:
            (tree_copy / rel).unlink()
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    for rel, (_, contract) in PLANTED_IMPORTS.items():
        planted = rel.removesuffix(".py").replace("/", ".")
        broken = [line for line in out.splitlines() if contract in line and "BROKEN" in line]
        assert broken, f"contract {contract!r} not broken:\n{out}"
        assert planted in out, f"{planted} not named in the report:\n{out}"


def test_mypy_passes_on_the_tree() -> None:
    result = _run("mypy", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_strict_on_the_core(tree_copy: Path) -> None:
    rel, source = PLANTED_TYPE_ERROR
    (tree_copy / rel).write_text(source)
    try:
        # The planted file alone (the tree passes, above): the strict section applies by module name.
        result = _run("mypy", tree_copy, "--cache-dir", str(tree_copy.parent / "mypy_cache"), rel)
    finally:
        (tree_copy / rel).unlink()
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert f"{rel}:2: error: Incompatible return value type" in out
    assert f"{rel}:5: error: Function is missing a type annotation" in out  # strict, not just checked


def test_ruff_refuses_an_import_inside_a_function(tree_copy: Path) -> None:
    planted = tree_copy / PLANTED_INLINE_IMPORT
    try:
        planted.write_text(INLINE_IMPORT)
        refused = _run("ruff", tree_copy, "check", "--no-cache", "--output-format", "concise", PLANTED_INLINE_IMPORT)
        planted.write_text(INLINE_IMPORT_WITH_REASON)
        excused = _run("ruff", tree_copy, "check", "--no-cache", PLANTED_INLINE_IMPORT)
    finally:
        planted.unlink()
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{PLANTED_INLINE_IMPORT}:2:5: PLC0415" in refused.stdout
    assert excused.returncode == 0, excused.stdout + excused.stderr  # the noqa with a reason is how to keep one
