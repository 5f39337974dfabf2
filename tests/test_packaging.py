"""What the package declares: the imports it ships with, keys that keep `uvx --from` fresh, its
layers, and the gates CI runs before the tests."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_uvx_rebuilds_when_the_shipped_sources_change() -> None:
    keys = PYPROJECT["tool"]["uv"]["cache-keys"]
    assert {"file": "pyproject.toml"} in keys and {"file": "src/**/*.py"} in keys
    shipped = [p for p in (ROOT / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    globs = [key["file"] for key in keys if "file" in key]
    uncached = [p for p in shipped if not any(fnmatch(str(p.relative_to(ROOT)), g) for g in globs)]
    assert not uncached, f"a shipped non-Python file needs its own cache key: {uncached}"


def test_every_third_party_import_of_the_package_is_declared() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    features = [dep for name, deps in extras.items() if name not in {"test", "dev"} for dep in deps]
    declared = {
        re.split(r"[<>=;\[ ]", dep, maxsplit=1)[0].lower()
        for dep in [*PYPROJECT["project"]["dependencies"], *features]  # an extra's import is lazy
    }
    imported: set[str] = set()
    for path in (ROOT / "src" / "late_mcp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in {"late_mcp", "__future__"}} - set(
        sys.stdlib_module_names
    )
    # mcp_types ships inside the mcp distribution; twitter_text is twitter-text-parser's module.
    aliases = {"mcp_types": "mcp", "twitter_text": "twitter-text-parser"}
    assert {aliases.get(name, name) for name in third_party} <= declared


def test_fault_drills_are_not_shipped() -> None:
    assert not (ROOT / "src" / "late_mcp" / "sandbox" / "drill.py").exists()
    assert (ROOT / "benchmarks" / "drill.py").exists()


def test_ci_runs_exactly_the_test_command_the_readme_shows() -> None:
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"```bash\n{command}\n```" in (ROOT / "README.md").read_text()


def test_ci_gates_lint_format_types_and_layers_before_the_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    lines = script.strip().splitlines()
    gates = [
        ".venv/bin/ruff check src tests benchmarks",
        ".venv/bin/ruff format --check src tests benchmarks",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
    ]
    where = [next((i for i, line in enumerate(lines) if line.rstrip().endswith(gate)), -1) for gate in gates]
    assert -1 not in where, f"a gate is missing from .ci/run: {dict(zip(gates, where, strict=True))}"
    assert where == sorted(where) and where[-1] < len(lines) - 1  # in this order, before the tests
    assert "set -euo pipefail" in script  # a failing gate stops the run


def _layers() -> list[str]:
    contracts = PYPROJECT["tool"]["importlinter"]["contracts"]
    layered = next(c for c in contracts if c["type"] == "layers")
    assert layered["containers"] == ["late_mcp"] and layered["exhaustive"] is True
    assert any(c["type"] == "acyclic_siblings" and c["ancestors"] == ["late_mcp"] for c in contracts)
    return [name.strip() for layer in layered["layers"] for name in layer.split("|")]


def test_every_package_is_a_layer_and_imports_only_go_down() -> None:
    packages = {p.parent.name for p in (ROOT / "src" / "late_mcp").glob("*/__init__.py")}
    loose = {p.stem for p in (ROOT / "src" / "late_mcp").glob("*.py")} - {"__init__", "__main__"}
    assert not loose, f"top-level modules outside the layers: {sorted(loose)}"
    assert set(_layers()) == packages | {"__main__"}
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is in the dev extra; .ci/run gates it")
    checked = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Contracts: 2 kept, 0 broken." in checked.stdout


def test_the_readme_architecture_names_every_layer_in_order() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    where = [section.find(f"{name}/") for name in _layers() if name != "__main__"]
    assert -1 not in where and where == sorted(where), "README's Architecture tree lists the layers top down"
