"""docs/security.md names the tests behind each security promise: every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"`(tests/[a-z0-9_]+\.py)::(test_[a-z0-9_]+)`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_security_page_names_exists() -> None:
    named = NAMED.findall((ROOT / "docs" / "security.md").read_text(encoding="utf-8"))
    assert len(named) >= 60, "the page lost its test references"
    missing = [f"{file}::{test}" for file, test in named if test not in defined_tests(ROOT / file)]
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_the_readme_points_to_the_security_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Security: what is promised" in readme and "docs/security.md" in readme
