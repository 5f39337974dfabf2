"""Property-based fuzzing of every tool through a real MCP session (hypothesis).

Thousands of random and hostile argument sets (wrong types, huge strings, unicode, nulls, path
tricks, unknown fields) go through `Client(server, mode="legacy")`: every call must be answered
with a `CallToolResult`, errors must be short clean tool errors, and the server must keep serving.

Hypothesis' sync `@given` tests cannot use async fixtures, so one module-scoped blocking portal runs
the event loop with the session inside it; the tests call tools through `portal.call`. Strategies
come from the live tools/list, so new tools and arguments are fuzzed without editing this file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult

from conftest import TEST_KEY, make_settings, structured, text
from contract import ContractCheckingTransport, ContractViolation, load_or_warn
from late_mcp.sandbox import create_sandbox_app
from late_mcp.sandbox import state as seed
from late_mcp.server.build import build_server

Json = Any
Strategy = st.SearchStrategy
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
    database=None,
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|object at 0x[0-9a-f]+"
    r"|\b[A-Z]\w*(Error|Exception)\(|errors\.pydantic\.dev|Error executing tool"
)
# fmt: off
PATH_TRICKS = [
    "../../etc/passwd", "/etc/passwd", "/etc/shadow", "~/.ssh/id_rsa", "C:\\Windows\\win.ini", "/dev/zero",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/proc/self/environ", "/dev/stdin", "file:///etc/passwd", "/", "~",
    "/tmp/../etc/passwd", "\\\\server\\share\\x.png", ".", "..", "/etc/passwd\x00.png",
]
ID_TRICKS = ["a/b", "x?y=1", "#frag", "%2F", "a b", "id\r\nX-Injected: 1", "*", "$where", "{}", "[]"]
WEIRD = [
    "", " ", "\x00", "null", "None", "undefined", "NaN", "-1", "true", "🙂" * 50, "\u202eevil\u202c",
    "שלום عالم", "\ufeff\u200b", "<script>alert(1)</script>", "'; DROP TABLE posts;--", "{{7*7}}",
    "${jndi:ldap://x/a}", "%s%n%x", "A" * 5000, TEST_KEY[:10],
]
PLANTED = ["real.png", "id_rsa.jpg", "empty.png", "dir.mp4", "passwd.png", "notes.txt", "real.png\x00"]
hostile_str = st.sampled_from(PATH_TRICKS + ID_TRICKS + WEIRD)
chars = st.characters(codec="utf-8")  # any code point JSON can carry: no lone surrogates
safe_text = st.text(chars, max_size=300)
huge_str = st.builds(str.__mul__, st.sampled_from(["a", "é", "🙂", "\u202e", "\x00", "/.."]),
                     st.integers(5000, 200_000))  # up to ~200 K characters
numbers = (st.integers(-(2**70), 2**70) | st.sampled_from([-1, 2**63])
           | st.floats(allow_nan=False, allow_infinity=False))
scalar = st.one_of(st.none(), st.booleans(), numbers, safe_text, hostile_str)
json_value = st.recursive(  # nested objects and lists
    scalar, lambda v: st.lists(v, max_size=4) | st.dictionaries(safe_text, v, max_size=4), max_leaves=10)
# fmt: on
hostile = st.one_of(json_value, hostile_str, huge_str, st.none())


class FuzzTransport(ContractCheckingTransport):
    """Records spec violations but still delivers the request, so each is reported once (by
    test_no_contract_violations) and not as a crash of the call that made it; and hides the
    sandbox's 600-a-minute rate-limit headers, which would park the client for up to a minute."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            response = await super().handle_async_request(request)
        except ContractViolation:
            response = await self.inner.handle_async_request(request)
        response.headers.pop("X-RateLimit-Remaining", None)
        return response


@dataclass(repr=False)
class Harness:
    portal: BlockingPortal
    client: Client
    app: Any
    transport: FuzzTransport
    media_dir: Path
    schemas: dict[str, dict[str, Json]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)  # by argument name: profile_id -> [...]
    strategies: dict[str, Strategy[dict[str, Json]]] = field(default_factory=dict)
    calls: int = 0
    errors: int = 0
    crashes: int = 0  # calls that broke an invariant (each also fails its test)
    alive: bool = False

    def __repr__(self) -> str:  # hypothesis prints the fixture with every failing example
        return "<harness>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    async def _answered(self, name: str, arguments: dict[str, Json]) -> CallToolResult:
        with anyio.fail_after(30):  # "every call answered": a hang fails instead of stalling CI
            return await self.client.call_tool(name, arguments)  # an MCPError propagates

    def call(self, name: str, arguments: dict[str, Json]) -> CallToolResult:
        self.calls += 1
        self.crashes += 1  # until every check below has passed
        result = self.portal.call(self._answered, name, arguments)
        assert isinstance(result, CallToolResult), (name, type(result))
        body = text(result)
        assert TEST_KEY not in body + json.dumps(structured(result), default=str), (name, "key leaked")
        if result.is_error:
            self.errors += 1
            assert body.strip(), (name, arguments, "empty error text")
            assert len(body.encode()) < 4096, (name, len(body.encode()), body[:300])
            assert not INTERNALS.search(body), (name, body[:500])
            kind = structured(result).get("error", {}).get("kind")
            assert kind != "internal", (name, body[:500])  # an exception the tool did not expect
        else:
            assert isinstance(structured(result), dict), (name, body[:300])
            self.harvest(structured(result))
        self.crashes -= 1
        return result

    def harvest(self, data: Json, key: str = "") -> None:
        """Remember the ids the server hands out (a profile's "id" as profile_id), for later calls."""
        if isinstance(data, dict):
            for k, v in data.items():
                name = f"{key.removesuffix('s')}_id" if k == "id" else k
                if isinstance(v, str) and name.endswith("_id") and v not in self.ids.setdefault(name, []):
                    self.ids[name].append(v)
                self.harvest(v, k)
        elif isinstance(data, list):
            for v in data:
                self.harvest(v, key)

    def known(self, name: str) -> Strategy[str]:
        """Ids handed out for argument `name`, the newest most often."""
        pool = self.ids.setdefault(name, [])
        return st.integers(0, 10**4).map(lambda i: pool[-1 - i % len(pool)] if pool else "none-yet")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    media = tmp_path_factory.mktemp("fuzz-media")  # what a hostile path may point at
    (media / "real.png").write_bytes(PNG)  # the one file that may be uploaded
    (media / "id_rsa.jpg").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    (media / "empty.png").write_bytes(b"")
    (media / "dir.mp4").mkdir()
    (media / "passwd.png").symlink_to("/etc/passwd")
    (media / "notes.txt").write_bytes(PNG)  # genuine bytes, unsupported extension
    app = create_sandbox_app(api_key=TEST_KEY)
    transport = FuzzTransport(httpx2.ASGITransport(app=app), load_or_warn())
    server = build_server(make_settings(media_dirs=(media,)), transport=transport)
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(Client(server, mode="legacy")) as client,  # one task in and out
    ):
        h = Harness(portal, client, app, transport, media)
        h.ids |= {
            "profile_id": [seed.SEED_PROFILE_ACME, seed.SEED_PROFILE_NORDIC],
            "account_id": [seed.SEED_ACCOUNT_NORDIC_TIKTOK],
        }
        h.schemas = {t.name: t.input_schema for t in portal.call(client.list_tools).tools}
        yield h
    alive = "server alive" if h.alive else "server NOT confirmed alive"
    print(f"\nfuzz: {h.calls} calls, {h.errors} errors returned as tool errors, {h.crashes} crashes, {alive}")


def valid_value(name: str, prop: dict[str, Json], h: Harness) -> Strategy[Json]:
    """Plausible values: the right type within the schema's limits, ids the sandbox handed out."""
    kind, low, high = prop.get("type"), prop.get("minLength", 0), min(prop.get("maxLength", 300), 300)
    special: dict[str, Strategy[Json]] = {
        "path": st.sampled_from(PLANTED).map(lambda p: str(h.media_dir / p))
        | safe_text.map(lambda t: f"/{t}"),
        "scheduled_for": st.datetimes(datetime(2027, 1, 1), datetime(2030, 1, 1)).map(datetime.isoformat)
        | st.sampled_from(["2020-01-01T00:00Z", "tomorrow", "2026-02-30T09:00", "9999-12-31T23:59+14:00"]),
        "timezone": st.sampled_from(["UTC", "Europe/Amsterdam", "Mars/Olympus", "../../etc/localtime"]),
        "media_urls": st.sampled_from(["https://cdn.example/a.jpg", "https://cdn.example/x", "https://v?#"]),
        "redirect_url": safe_text.map("https://x.example/".__add__),
        "filename": st.tuples(safe_text, st.sampled_from([".png", ".mp4", ".pdf", ".exe", ""])).map("".join),
        "content_type": st.sampled_from(["image/png", "video/mp4", "application/pdf", "text/html"]),
    }
    if "enum" in prop:
        return st.sampled_from(prop["enum"])
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(prop.get("minimum", 1), prop.get("maximum", 10**6))
    if kind == "number":
        return st.floats(prop.get("minimum", 0), prop.get("maximum", 10**6), exclude_min=True)
    if kind == "array":
        accounts = h.known("account_id") | st.sampled_from(["twitter", "facebook", "nope"])
        item = accounts if name == "accounts" else valid_value(name, prop.get("items", {}), h)
        return st.lists(item, min_size=prop.get("minItems", 0), max_size=min(prop.get("maxItems", 3), 3))
    if name in special:
        return special[name]
    if name.endswith("_id") and "pattern" in prop:
        return st.one_of(h.known(name), h.known(name), st.from_regex(prop["pattern"], fullmatch=True))
    if "pattern" in prop:
        return st.from_regex(prop["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(chars, min_size=low, max_size=high)


def arguments_for(tool: str, h: Harness) -> Strategy[dict[str, Json]]:
    """Per-schema dicts: all fields valid-ish, some hostile, required ones missing, or extras."""
    if tool not in h.strategies:
        schema = h.schemas[tool]
        required = set(schema.get("required", []))
        valid = {k: valid_value(k, p, h) for k, p in schema.get("properties", {}).items()}
        mixed = {k: st.one_of(v, v, hostile) for k, v in valid.items()}

        def shaped(fields: dict[str, Strategy[Json]]) -> Strategy[dict[str, Json]]:
            must = {k: v for k, v in fields.items() if k in required}
            return st.fixed_dictionaries(must, optional={k: v for k, v in fields.items() if k not in must})

        names = st.sampled_from(["__proto__", "api_key", "ctx", "x" * 300]) | safe_text
        extras = st.dictionaries(names, json_value, min_size=1, max_size=3)
        choices = [shaped(valid), shaped(valid), shaped(mixed), shaped(mixed)]
        choices.append(st.fixed_dictionaries({}, optional=mixed))  # required fields may go missing
        choices.append(st.tuples(shaped(valid), extras).map(lambda pair: {**pair[1], **pair[0]}))
        if tool == "posts_create":  # exactly one posting mode, so posts exist for the posts_* tools
            seeded = st.sampled_from([seed.SEED_ACCOUNT_ACME_TWITTER, seed.SEED_ACCOUNT_ACME_FACEBOOK])
            accounts = st.lists(seeded, min_size=1, max_size=2)
            post = st.fixed_dictionaries({"content": safe_text.map(lambda t: t[:250]), "accounts": accounts})
            mode = st.sampled_from([{"is_draft": True}, {"publish_now": True}, {"use_queue": True}])
            choices[:0] = 3 * [st.tuples(post, mode).map(lambda pair: pair[0] | pair[1])]
        h.strategies[tool] = st.one_of(choices)
    return h.strategies[tool]


@settings(FUZZ, max_examples=1400)  # with the two below: 2050 calls, ~20 s on 2 cores
@given(data=st.data())
def test_schema_guided_arguments(harness: Harness, data: st.DataObject) -> None:
    tool = data.draw(st.sampled_from(sorted(harness.schemas)), label="tool")
    harness.call(tool, data.draw(arguments_for(tool, harness), label="arguments"))


@settings(FUZZ, max_examples=450)
@given(data=st.data())
def test_random_argument_dicts(harness: Harness, data: st.DataObject) -> None:
    tool = data.draw(st.sampled_from(sorted(harness.schemas)), label="tool")
    keys = st.sampled_from(sorted(harness.schemas[tool].get("properties", {})) or ["x"]) | safe_text
    harness.call(tool, data.draw(st.dictionaries(keys, hostile, max_size=6), label="arguments"))


@settings(FUZZ, max_examples=200)
@given(path=st.one_of(hostile_str, huge_str, safe_text.map(lambda t: f"/{t}"), st.sampled_from(PLANTED)))
def test_media_upload_file_paths(harness: Harness, path: str) -> None:
    if path in PLANTED:
        path = str(harness.media_dir / path)
    harness.call("media_upload_file", {"path": path})


def test_only_genuine_media_was_uploaded(harness: Harness) -> None:
    result = harness.call("media_upload_file", {"path": str(harness.media_dir / "real.png")})
    assert not result.is_error, text(result)
    uploads = harness.app.state.late.uploads
    assert {u["sha256"] for u in uploads.values()} == {hashlib.sha256(PNG).hexdigest()}, uploads


def test_no_contract_violations(harness: Harness) -> None:
    distinct = sorted({re.sub(r"/v1/\S+ \(spec", "/v1/... (spec", v) for v in harness.transport.violations})
    assert distinct == [], distinct


def test_server_still_serving(harness: Harness) -> None:
    result = harness.call("profiles_list", {})
    assert not result.is_error and structured(result), text(result)
    listed = harness.portal.call(harness.client.list_tools)
    assert {t.name for t in listed.tools} == set(harness.schemas) and len(harness.schemas) >= 20
    harness.alive = True
