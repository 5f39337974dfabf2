"""One word, one meaning: a module's name or a class's name says one thing across the package."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "late_mcp"


def test_outside_the_sandbox_no_two_modules_share_a_name() -> None:
    """The sandbox mirrors Late's API by domain (sandbox/posts.py, ...), so it is left out; the
    `late-mcp token` command (cli/tokens.py) and the token stores (auth/tokens.py) are one subject."""
    where: dict[str, list[str]] = defaultdict(list)
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if path.name != "__init__.py" and relative.parts[0] != "sandbox":
            where[path.name].append(str(relative))
    shared = {name: sorted(paths) for name, paths in where.items() if len(paths) > 1}
    assert shared == {"tokens.py": ["auth/tokens.py", "cli/tokens.py"]}, shared


def test_gate_names_nothing() -> None:
    """Reservations, the rate limiter, confirm tokens and session admission each have their own
    word, not 'gate'."""
    classes = [
        f"{path.relative_to(SRC)}: {node.name}"
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and "gate" in node.name.lower()
    ]
    assert classes == []
