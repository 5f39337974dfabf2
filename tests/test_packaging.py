"""What the package declares: the imports it ships with, and keys that keep `uvx --from` fresh."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_uvx_rebuilds_when_the_shipped_sources_change() -> None:
    keys = PYPROJECT["tool"]["uv"]["cache-keys"]
    assert {"file": "pyproject.toml"} in keys and {"file": "src/**/*.py"} in keys
    shipped = [p for p in (ROOT / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert all(p.suffix == ".py" for p in shipped), "a shipped non-Python file needs its own cache key"


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
    aliases = {"mcp_types": "mcp"}  # shipped inside the mcp distribution
    assert {aliases.get(name, name) for name in third_party} <= declared


def test_fault_drills_are_not_shipped() -> None:
    assert not (ROOT / "src" / "late_mcp" / "sandbox" / "drill.py").exists()
    assert (ROOT / "benchmarks" / "drill.py").exists()


def test_ci_runs_exactly_the_test_command_the_readme_shows() -> None:
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"```bash\n{command}\n```" in (ROOT / "README.md").read_text()
