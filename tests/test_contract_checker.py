"""Tests for the OpenAPI request-contract checker in tests/contract.py."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

import contract as contract_module
from contract import (
    DEFAULT_SPEC,
    SDK_SPEC_SHA256,
    ContractCheckingTransport,
    ContractViolation,
    OpenAPIContract,
    SpecMissingInCI,
    SpecUnavailable,
    find_spec,
    in_ci,
    load_or_skip,
    load_or_warn,
    registry_spec,
    skip_reason,
    spec_path,
)

BASE_URL = "https://getlate.dev/api"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def contract() -> OpenAPIContract:
    return load_or_skip()


def post_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "content": "Hello from the contract test",
        "scheduledFor": "2026-11-23T09:00:00+01:00",
        "timezone": "Europe/Amsterdam",
        "platforms": [
            {
                "platform": "twitter",
                "accountId": "acc_1",
                "platformSpecificData": {"replySettings": "following"},
            },
            {"platform": "linkedin", "accountId": "acc_2"},
        ],
        "mediaItems": [{"type": "image", "url": "https://cdn.example.com/a.png"}],
    }
    body.update(overrides)
    return body


# --- body validation -------------------------------------------------------------------------------------


def test_valid_post_body_passes(contract: OpenAPIContract) -> None:
    assert contract.check_request("POST", "/v1/posts", {}, post_body()) == "/v1/posts"
    assert contract.checked == [("POST", "/v1/posts")]
    assert contract.unknown == []


@pytest.mark.parametrize(
    "when", ["2026-11-23T09:00:00Z", "2026-11-23T09:00:00+01:00", "2026-11-23T08:00:00.000Z"]
)
def test_aware_datetimes_pass(contract: OpenAPIContract, when: str) -> None:
    assert contract.check_request("POST", "/v1/posts", {}, post_body(scheduledFor=when)) == "/v1/posts"


def test_naive_scheduled_for_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match=r"POST /v1/posts .*\$\.scheduledFor.*date-time"):
        contract.check_request("POST", "/v1/posts", {}, post_body(scheduledFor="2026-11-23T09:00:00"))


def test_naive_per_platform_scheduled_for_fails(contract: OpenAPIContract) -> None:
    platforms = [{"platform": "twitter", "accountId": "a", "scheduledFor": "2026-11-23T09:00:00"}]
    with pytest.raises(ContractViolation, match=r"platforms\[0\]\.scheduledFor"):
        contract.check_request("POST", "/v1/posts", {}, post_body(platforms=platforms))


def test_wrong_type_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match=r"publishNow.*'yes' is not of type 'boolean'"):
        contract.check_request("POST", "/v1/posts", {}, post_body(publishNow="yes"))


def test_bad_enum_in_nested_ref_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match=r"mediaItems\[0\]\.type"):
        contract.check_request("POST", "/v1/posts", {}, post_body(mediaItems=[{"type": "audio", "url": "x"}]))


def test_overlapping_one_of_is_accepted(contract: OpenAPIContract) -> None:
    # An empty platformSpecificData matches every variant: strict oneOf would reject it.
    platforms = [{"platform": "instagram", "accountId": "a", "platformSpecificData": {}}]
    assert contract.check_request("POST", "/v1/posts", {}, post_body(platforms=platforms)) == "/v1/posts"


def test_required_body_missing_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match="request body is required"):
        contract.check_request("POST", "/v1/posts", {}, None)


def test_put_with_path_param(contract: OpenAPIContract) -> None:
    assert contract.check_request("PUT", "/v1/posts/abc123", {}, {"content": "x"}) == "/v1/posts/{postId}"


# --- query and path parameters ---------------------------------------------------------------------------


def test_valid_query_passes(contract: OpenAPIContract) -> None:
    query = {"limit": ["100"], "page": ["2"], "status": ["scheduled"], "includeHidden": ["true"]}
    assert contract.check_request("GET", "/v1/posts", query, None) == "/v1/posts"
    assert contract.check_request("GET", "/v1/posts", [("dateFrom", "2026-01-01")], None) == "/v1/posts"


def test_unknown_query_param_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match=r"GET /v1/posts .*unknown query parameter 'bogus'"):
        contract.check_request("GET", "/v1/posts", [("bogus", "1")], None)


def test_limit_above_maximum_fails(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match=r"'limit'.*maximum of 100"):
        contract.check_request("GET", "/v1/posts", {"limit": ["500"]}, None)


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ([("limit", "ten")], "not an integer"),
        ([("limit", "0")], "minimum of 1"),
        ([("includeHidden", "yes")], "not a boolean"),
        ([("status", "deleted")], "is not one of"),
        ([("limit", "10"), ("limit", "20")], "given 2 times"),
    ],
)
def test_bad_query_values_fail(contract: OpenAPIContract, query: list[tuple[str, str]], why: str) -> None:
    with pytest.raises(ContractViolation, match=why):
        contract.check_request("GET", "/v1/posts", query, None)


def test_required_query_and_path_enum(contract: OpenAPIContract) -> None:
    with pytest.raises(ContractViolation, match="missing required query parameter 'profileId'"):
        contract.check_request("GET", "/v1/connect/twitter", {}, None)
    with pytest.raises(ContractViolation, match="path parameter 'platform'"):
        contract.check_request("GET", "/v1/connect/myspace", {"profileId": ["p1"]}, None)


# --- path matching ---------------------------------------------------------------------------------------


def test_literal_template_preferred(contract: OpenAPIContract) -> None:
    assert contract.check_request("GET", "/v1/accounts/health", {}, None) == "/v1/accounts/health"
    assert (
        contract.check_request("GET", "/v1/accounts/acc_1/health", {}, None)
        == "/v1/accounts/{accountId}/health"
    )
    assert contract.check_request("PUT", "/v1/accounts/acc_1", {}, {}) == "/v1/accounts/{accountId}"


def test_unknown_path_returns_none(contract: OpenAPIContract) -> None:
    assert contract.check_request("POST", "/v1/platform-invites", {}, {"profileId": "p"}) is None
    assert contract.check_request("PATCH", "/v1/posts/abc", {}, {}) is None
    assert contract.unknown == [("POST", "/v1/platform-invites"), ("PATCH", "/v1/posts/abc")]
    assert contract.checked == []


# --- loading ---------------------------------------------------------------------------------------------


def test_missing_spec_disables_checker(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert OpenAPIContract.load(missing) is None
    assert spec_path(missing) is None
    assert skip_reason(missing) == f"contract check skipped: {missing} not found"


def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, registry: str) -> Path:
    """No spec at LATE_OPENAPI_SPEC or the shared path; the registry package's cache is `registry`
    ("repo": the repository's own, "empty": a fresh folder). Returns the cache folder."""
    monkeypatch.setenv("LATE_OPENAPI_SPEC", str(tmp_path / "env-points-at-nothing.yaml"))
    monkeypatch.setattr(contract_module, "DEFAULT_SPEC", tmp_path / "shared" / "openapi.yaml")
    if registry == "empty":
        monkeypatch.setattr(contract_module, "CACHE_DIR", tmp_path / "cache")
    return contract_module.CACHE_DIR


def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip finds no package anywhere (no index, an empty find-links folder): a download fails."""
    (tmp_path / "no-links").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-links"))


def registry_or_skip(cache_dir: Path | None = None) -> tuple[Path, str]:
    """The registry copy; where it cannot be downloaded, skip, except in CI (there it must work)."""
    try:
        return registry_spec(cache_dir)
    except SpecUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI must reach the package registry for the spec: {exc}")
        pytest.skip(f"package registry not reachable: {exc}")


def test_the_spec_comes_from_the_registry_package_when_neither_path_has_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = nowhere(tmp_path, monkeypatch, registry="repo")
    registry_or_skip(cache_dir)  # the repository's cache when present, else downloaded into it
    found = find_spec()
    assert found.path == cache_dir.resolve() / "late-sdk-1.2.70" / "openapi.yaml"
    assert found.source.startswith("late-sdk==1.2.70 (")
    assert found.tried == (
        f"LATE_OPENAPI_SPEC={tmp_path / 'env-points-at-nothing.yaml'} not found",
        f"{tmp_path / 'shared' / 'openapi.yaml'} not found",
    )
    assert skip_reason() is None
    contract = load_or_warn()
    assert contract is not None
    assert contract.check_request("POST", "/v1/posts", {}, post_body()) == "/v1/posts"
    with pytest.raises(ContractViolation, match="scheduledFor"):
        contract.check_request("POST", "/v1/posts", {}, post_body(scheduledFor="2026-11-23T09:00:00"))


def test_an_empty_cache_downloads_the_package_and_keeps_only_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = nowhere(tmp_path, monkeypatch, registry="empty")
    kept = cache_dir / "late-sdk-1.2.70" / "openapi.yaml"
    kept.parent.mkdir(parents=True)
    kept.write_text("openapi: 3.1.0  # not the pinned file: replaced, never used\n")
    path, how = registry_or_skip()
    assert path == kept and how == f"late-sdk==1.2.70 (downloaded to {kept.parent})"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == SDK_SPEC_SHA256
    assert sorted(p.relative_to(cache_dir) for p in cache_dir.rglob("*")) == [
        Path("late-sdk-1.2.70"),
        Path("late-sdk-1.2.70/openapi.yaml"),
    ]  # the archive is gone and nothing else was extracted
    offline(tmp_path, monkeypatch)  # a second lookup uses the cache: no registry needed
    assert registry_spec() == (kept, f"late-sdk==1.2.70 (cached in {kept.parent})")
    assert find_spec().path == kept
    if DEFAULT_SPEC.is_file():  # the registry's copy is the shared copy, byte for byte
        assert kept.read_bytes() == DEFAULT_SPEC.read_bytes()


def test_without_any_source_ci_fails_naming_every_place_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract_module, "_warned", False)
    nowhere(tmp_path, monkeypatch, registry="empty")
    offline(tmp_path, monkeypatch)
    monkeypatch.setenv("CI", "true")
    tried = (
        f"LATE_OPENAPI_SPEC={tmp_path / 'env-points-at-nothing.yaml'} not found; "
        f"{tmp_path / 'shared' / 'openapi.yaml'} not found; "
        "pip download late-sdk==1.2.70 failed (is the package registry reachable?): "
        "ERROR: No matching distribution found for late-sdk==1.2.70"
    )
    with pytest.raises(SpecMissingInCI) as failed:
        load_or_warn()
    assert str(failed.value) == (
        f"contract check required in CI (CI=true), but {tried}: provide Late's OpenAPI spec at "
        "../shared/late-api/openapi.yaml, set LATE_OPENAPI_SPEC, or let pip reach the package registry "
        "(the spec is read from late-sdk==1.2.70)"
    )
    assert not (tmp_path / "cache" / "late-sdk-1.2.70" / "openapi.yaml").exists()
    monkeypatch.setenv("CI", "false")
    with pytest.warns(UserWarning) as warned:
        assert load_or_warn() is None
    assert [str(w.message) for w in warned] == [f"contract check skipped: {tried}"]


# A clone somewhere else: no ../shared beside it, only what the contract checks need.
CLONE_FILES = (
    "pyproject.toml",
    "tests/conftest.py",
    "tests/contract.py",
    "tests/browser.py",
    "tests/test_contract_checker.py",
)
PROBE = """
import pytest
from conftest import ok

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("n", range(3))
async def test_a_session_checks_its_requests(mcp, late_transport, n):
    await ok(mcp, "profiles_list")
    assert late_transport.contract is not None
    assert ("GET", "/v1/profiles") in late_transport.contract.checked
"""


def fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "elsewhere" / "late-mcp"
    for name in CLONE_FILES:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(contract_module.REPO / name, clone / name)
    (clone / "tests" / "test_probe.py").write_text(PROBE)
    return clone


def pytest_in(clone: Path, tmp_path: Path, *args: str) -> tuple[int, str]:
    """pytest run in `clone` with CI=true and pip offline; (exit status, its output)."""
    (tmp_path / "no-links").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"LATE_OPENAPI_SPEC", "PYTEST_ADDOPTS"}}
    env |= {"CI": "true", "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "no-links")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    done = subprocess.run(
        command, cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout + done.stderr


def test_a_fresh_clone_in_ci_runs_every_contract_test_from_the_cached_package(tmp_path: Path) -> None:
    cached, _ = registry_or_skip(contract_module.CACHE_DIR)
    clone = fresh_clone(tmp_path)
    seeded = clone / ".cache" / "late-openapi" / "late-sdk-1.2.70" / "openapi.yaml"
    seeded.parent.mkdir(parents=True)
    shutil.copyfile(cached, seeded)
    status, output = pytest_in(
        clone,
        tmp_path,
        "tests/test_contract_checker.py",
        "tests/test_probe.py",
        "-k",
        "not clone and not empty_cache",
    )
    summary = output.strip().splitlines()[-1]
    assert status == 0, output
    assert re.fullmatch(r"\d+ passed, 3 deselected in [\d.]+s", summary), output


def test_a_fresh_clone_in_ci_without_any_source_stops_once_with_the_reason(tmp_path: Path) -> None:
    status, output = pytest_in(fresh_clone(tmp_path), tmp_path, "tests/test_probe.py")
    assert status == 1, output
    assert output.count("contract check required in CI (CI=true), but ") == 1, output
    assert "../shared/late-api/openapi.yaml not found; pip download late-sdk==1.2.70 failed" in output
    assert " passed" not in output and " error" not in output, output


def test_load_or_warn_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_module, "_warned", False)
    monkeypatch.delenv("CI", raising=False)
    missing = tmp_path / "nope.yaml"
    with pytest.warns(UserWarning, match="contract check skipped: .*nope.yaml not found"):
        assert load_or_warn(missing) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_or_warn(missing) is None


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_spec_fails_in_ci_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setattr(contract_module, "_warned", False)
    monkeypatch.setenv("CI", ci)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecMissingInCI) as failed:
        load_or_warn(missing)
    assert str(failed.value) == (
        f"contract check required in CI (CI={ci}), but {missing} not found: provide Late's OpenAPI spec "
        "at ../shared/late-api/openapi.yaml, set LATE_OPENAPI_SPEC, or let pip reach the package registry "
        "(the spec is read from late-sdk==1.2.70)"
    )
    with pytest.raises(pytest.fail.Exception, match="contract check required in CI"):
        load_or_skip(missing)
    monkeypatch.setenv("CI", "false")
    with pytest.warns(UserWarning, match="contract check skipped"):
        assert load_or_warn(missing) is None


def test_default_reason_mentions_shared_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATE_OPENAPI_SPEC", raising=False)
    monkeypatch.setattr(contract_module, "CACHE_DIR", tmp_path / "cache")
    offline(tmp_path, monkeypatch)
    reason = skip_reason()
    assert reason is None or reason.startswith(
        "contract check skipped: ../shared/late-api/openapi.yaml not found; pip download late-sdk==1.2.70"
    )


def test_instances_are_independent(contract: OpenAPIContract) -> None:
    other = OpenAPIContract.load()
    assert other is not None and other is not contract
    contract.check_request("GET", "/v1/posts", {}, None)
    assert other.checked == []


# --- transport -------------------------------------------------------------------------------------------


def make_client(contract: OpenAPIContract, seen: list[httpx2.Request]) -> tuple[httpx2.AsyncClient, Any]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"ok": True})

    transport = ContractCheckingTransport(httpx2.MockTransport(handler), contract)
    return httpx2.AsyncClient(transport=transport, base_url=BASE_URL), transport


@pytest.mark.anyio
async def test_transport_passes_valid_requests(contract: OpenAPIContract) -> None:
    seen: list[httpx2.Request] = []
    client, transport = make_client(contract, seen)
    async with client:
        assert (await client.post("/v1/posts", json=post_body())).status_code == 200
        assert (await client.get("/v1/posts", params={"limit": 10})).status_code == 200
        assert (await client.post("/v1/platform-invites", json={"profileId": "p"})).status_code == 200
    assert transport.violations == []
    assert contract.checked == [("POST", "/v1/posts"), ("GET", "/v1/posts")]
    assert contract.unknown == [("POST", "/v1/platform-invites")]
    assert json.loads(seen[0].content) == post_body()  # body still delivered after being read


@pytest.mark.anyio
async def test_transport_records_violations_and_raises(contract: OpenAPIContract) -> None:
    seen: list[httpx2.Request] = []
    client, transport = make_client(contract, seen)
    async with client:
        with pytest.raises(ContractViolation, match="maximum of 100"):
            await client.get("/v1/posts", params={"limit": 500})
        with contextlib.suppress(Exception):  # an upper layer swallowing it must not hide the violation
            await client.post("/v1/posts", json=post_body(scheduledFor="2026-11-23T09:00:00"))
    assert len(transport.violations) == 2
    assert "limit" in transport.violations[0] and "scheduledFor" in transport.violations[1]
    assert seen == []  # violating requests never reach the inner transport


@pytest.mark.anyio
async def test_transport_does_not_consume_streaming_uploads(contract: OpenAPIContract) -> None:
    state = {"inner_reached": False, "read_early": False}

    class Inner(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            state["inner_reached"] = True
            await request.aread()
            return httpx2.Response(200)

    async def chunks() -> AsyncIterator[bytes]:
        state["read_early"] = not state["inner_reached"]
        yield b"binary-data"

    transport = ContractCheckingTransport(Inner(), contract)
    async with httpx2.AsyncClient(transport=transport) as client:
        headers = {"content-type": "video/mp4"}
        resp = await client.put(
            "https://uploads.example.com/presigned/abc", content=chunks(), headers=headers
        )
    assert resp.status_code == 200
    assert state == {"inner_reached": True, "read_early": False}
    assert transport.violations == [] and contract.checked == [] and contract.unknown == []


@pytest.mark.anyio
async def test_transport_disabled_without_contract() -> None:
    transport = ContractCheckingTransport(httpx2.MockTransport(lambda r: httpx2.Response(204)), None)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        assert (await client.get("/v1/posts", params={"bogus": 1})).status_code == 204
    assert transport.violations == []
