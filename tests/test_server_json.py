"""server.json (the MCP registry entry) stays in step with the package and the settings it reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from late_mcp import __version__

ROOT = Path(__file__).resolve().parents[1]


def load() -> dict[str, Any]:
    return json.loads((ROOT / "server.json").read_text())  # type: ignore[no-any-return]


def test_server_json_names_this_package_and_version() -> None:
    entry = load()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert entry["version"] == __version__ == project["version"]
    assert 1 <= len(entry["description"]) <= 100  # the registry's limit
    assert f"<!-- mcp-name: {entry['name']} -->" in (ROOT / "README.md").read_text()
    for package in entry["packages"]:
        assert (package["registryType"], package["identifier"]) == ("pypi", project["name"])
        assert package["version"] == __version__


def test_server_json_offers_stdio_and_streamable_http() -> None:
    packages = {p["transport"]["type"]: p for p in load()["packages"]}
    assert set(packages) == {"stdio", "streamable-http"}
    http = packages["streamable-http"]
    assert http["transport"]["url"] == "http://127.0.0.1:{port}/mcp"
    assert {"type": "named", "name": "--transport", "value": "http"} in http["packageArguments"]


def test_server_json_lists_every_setting_and_only_credentials_are_secret() -> None:
    def read(module: str) -> set[str]:
        return set(re.findall(r'"(LATE_[A-Z_]+)"', (ROOT / "src" / "late_mcp" / module).read_text()))

    common, serving = read("config/settings.py"), read("config/http.py")
    for package in load()["packages"]:
        variables = {v["name"]: v for v in package["environmentVariables"]}
        http = package["transport"]["type"] == "streamable-http"
        assert set(variables) == (common | serving if http else common)
        assert all(v["description"] for v in variables.values())
        secret = {name for name, v in variables.items() if v["isSecret"]}
        # the key, a Redis URL that may hold a password, and the HTTP token
        assert secret == {"LATE_API_KEY", "LATE_MCP_REDIS_URL"} | ({"LATE_MCP_TOKEN"} if http else set())
