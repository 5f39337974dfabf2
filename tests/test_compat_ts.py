"""An independent client: the official TypeScript SDK against `late-mcp --sandbox`, stdio and HTTP.

tests/compat_ts/compat.mjs lists tools, calls a read tool and a write tool and checks an error
result. `npm install` puts the SDK in tests/compat_ts/node_modules (git-ignored). Without node or
npm, or when the npm registry cannot be reached, the test skips and says why; in CI (CI=true)
it fails instead, since CI has both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract import not_run
from late_mcp.config.settings import DEFAULT_TOOLSETS, SANDBOX_MARK
from late_mcp.tools import ALL_TOOLS
from test_http_transports import serve

DEFAULT_COUNT = sum(spec.domain in DEFAULT_TOOLSETS for spec in ALL_TOOLS)  # what a plain server offers
HERE = Path(__file__).parent / "compat_ts"


def unavailable(reason: str) -> None:
    not_run("TypeScript SDK compatibility check", reason)


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable(f"{'node' if node is None else 'npm'} is not installed (Node 18+ with npm is needed)")
    assert node is not None and npm is not None
    try:
        installed = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        unavailable("`npm install` in tests/compat_ts did not finish in 10 minutes")
    if installed.returncode != 0:
        unavailable(f"`npm install` in tests/compat_ts failed: {installed.stderr.strip()[-600:]}")
    return node


def run_compat(node: str, *args: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATE_")}
    proc = subprocess.run(
        [node, "compat.mjs", *args],
        cwd=HERE,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return seen


def test_typescript_sdk_over_stdio(node: str) -> None:
    seen = run_compat(node, "stdio", sys.executable, "-m", "late_mcp", "--sandbox")
    assert seen["tools"] == DEFAULT_COUNT and isinstance(seen["profileId"], str)
    assert str(seen["error"]).startswith(SANDBOX_MARK + " 'twitter' does not say whose twitter account")


@pytest.fixture
def http_server() -> Iterator[int]:
    yield from serve("http")


def test_typescript_sdk_over_streamable_http(node: str, http_server: int) -> None:
    seen = run_compat(node, "http", f"http://127.0.0.1:{http_server}/mcp")
    assert seen["tools"] == DEFAULT_COUNT and isinstance(seen["profileId"], str)
    assert str(seen["error"]).startswith(SANDBOX_MARK + " 'twitter' does not say whose twitter account")


def test_typescript_sdk_signs_in_with_oauth_and_calls_a_tool(node: str, tmp_path: Path) -> None:
    """tests/compat_ts/oauth.mjs: the TS SDK's OAuth client, a consent form answered over HTTP,
    against a real `late-mcp --sandbox --transport http` with a user from `late-mcp user add`."""
    from late_mcp.sandbox.state import SEED_PROFILE_ACME
    from oauthflow import PASSWORD, add_user
    from test_http_edges import server_process
    from test_http_transports import clean_env

    env = {**clean_env(), "LATE_MCP_TOKEN_STORE": str(tmp_path / "tokens.sqlite3")}
    add_user(env, "alice", PASSWORD)
    with server_process(env) as (port, _):
        proc = subprocess.run(
            [node, "oauth.mjs", f"http://127.0.0.1:{port}/mcp", "alice", PASSWORD, SEED_PROFILE_ACME],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["profiles"] == [SEED_PROFILE_ACME]  # the one profile ticked on the consent page
    assert "profiles_list" in seen["tools"] and "posts_create" not in seen["tools"]  # read-only grant
    assert seen["token"].lower() == "bearer"
