"""Every handle is bound to the caller that made it (issue 13, items 3, 4, 5 and 14).

Idempotency keys and their stored answers, confirm tokens and their run-once keys, browser-upload
tokens and journal entries belong to one caller (`late_mcp.auth.principal.caller_id`); the journal and
the signing secret keep no links, tokens or text, and only their owner may read their files. The
servers are the real HTTP app on real sockets, or real processes on a real redis-server; the
clients are the SDK's; Late is the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import redis
from mcp import Client
from mcp_types import CallToolResult

from conftest import TEST_KEY, make_settings, structured
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.redis_tokens import RedisTokenStore
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.safety import sqlite_journal as journal_module
from late_mcp.safety.records import RETENTION
from late_mcp.safety.sqlite_journal import Journal
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server
from standin import served
from test_access_scopes import body, data, refusal, store
from test_redis import free_port, redis_server, redis_url, start_replica, wait_for_port
from test_stdio import server_env

pytestmark = pytest.mark.anyio
ACME, NORDIC = SEED_PROFILE_ACME, SEED_PROFILE_NORDIC
SHARED = "shared-secret-for-the-whole-agency-0123456789"
__all__ = ["redis_server", "redis_url", "store"]  # fixtures used here, defined elsewhere


def nordic_post(state: SandboxState, content: str) -> str:
    post = state.create_post(
        {"content": content, "platforms": [{"platform": "twitter", "accountId": SEED_ACCOUNT_NORDIC_TWITTER}]}
    )
    return str(post["_id"])


def deletes(state: SandboxState, post_id: str) -> int:
    return sum(1 for method, path in state.requests if method == "DELETE" and path.endswith(post_id))


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- item 4: idempotency keys, stored answers and run-once keys are the caller's own ---------------


async def test_a_limited_token_reusing_an_admins_keys_gets_no_replay_and_learns_nothing(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState, tmp_path: Path
) -> None:
    acme = store.create("acme", (ACME,), False)
    doomed = nordic_post(state, "Nordic launch plan")
    draft_args = {
        "content": "Nordic secret draft",
        "accounts": [SEED_ACCOUNT_NORDIC_TWITTER],
        "is_draft": True,
    }
    http = HttpSettings(transport="http", token=SHARED)
    async with running(late_transport, http, store, journal_path=tmp_path / "journal.sqlite3") as base:
        async with connect(base, SHARED) as admin:
            invite = await data(
                admin,
                "invites_create",
                profile_id=NORDIC,
                platforms=["twitter"],
                idempotency_key="onboard-0001",
            )
            await data(admin, "posts_create", **draft_args, idempotency_key="draft-000001")
            preview = await data(admin, "posts_delete", post_id=doomed)
            await data(admin, "posts_delete", post_id=doomed, confirm=preview["confirm_token"])
        invites_before = len(state.invites)
        async with connect(base, acme) as limited:
            answers = {
                "invites_create": await refusal(
                    limited,
                    "invites_create",
                    profile_id=NORDIC,
                    platforms=["twitter"],
                    idempotency_key="onboard-0001",
                ),
                "posts_create": await refusal(
                    limited, "posts_create", **draft_args, idempotency_key="draft-000001"
                ),
                "posts_delete": await refusal(
                    limited, "posts_delete", post_id=doomed, confirm=preview["confirm_token"]
                ),
            }
            # Its own call with the same key is a new call: no "already used", no time, no tool named.
            own = await data(
                limited,
                "invites_create",
                profile_id=ACME,
                platforms=["twitter"],
                idempotency_key="onboard-0001",
            )
    url = invite["invites"][0]["invite_url"]
    for tool, text in answers.items():
        assert "Replayed" not in text and url not in text and "Nordic secret draft" not in text, (tool, text)
        assert "already" not in text and "idempotency_key" not in text, (tool, text)
    assert "was not found among the profiles this access token may use" in answers["invites_create"]
    assert SEED_ACCOUNT_NORDIC_TWITTER in answers["posts_create"] and "account" in answers["posts_create"]
    assert f"Post {doomed} was not found among the profiles" in answers["posts_delete"]
    assert own["invites"][0]["id"] != invite["invites"][0]["id"] and own["profile_id"] == ACME
    assert len(state.invites) == invites_before + 1  # only its own invite was made
    assert deletes(state, doomed) == 1


async def test_two_callers_sending_one_key_at_once_each_get_their_own_call(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState, tmp_path: Path
) -> None:
    tokens = {"alice": store.create("alice", (), False), "bob": store.create("bob", (), False)}
    results: dict[str, list[CallToolResult]] = {"alice": [], "bob": []}
    arguments = {"name": "Same name", "allow_duplicate": True, "idempotency_key": "same-key-0001"}

    async def caller(name: str) -> None:
        async with connect(base, tokens[name]) as client, anyio.create_task_group() as calls:
            for _ in range(5):
                calls.start_soon(lambda: _collect(client, results[name], arguments))

    async with (
        running(late_transport, HttpSettings(transport="http"), store, journal_path=tmp_path / "j") as base,
        anyio.create_task_group() as group,
    ):
        group.start_soon(caller, "alice")
        group.start_soon(caller, "bob")
    made = [p for p in state.profiles.values() if p["name"] == "Same name"]
    assert len(made) == 2
    ids = {}
    for name, answers in results.items():
        assert all(not r.is_error for r in answers), [body(r) for r in answers]
        assert sum("Replayed" in body(r) for r in answers) == 4
        ids[name] = {structured(r)["profile"]["id"] for r in answers}
    assert len(ids["alice"]) == len(ids["bob"]) == 1 and ids["alice"] != ids["bob"]


async def _collect(client: Client, into: list[CallToolResult], arguments: dict[str, Any]) -> None:
    into.append(await client.call_tool("profiles_create", arguments))


async def test_a_replay_needs_the_callers_scope_to_still_cover_the_first_call(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState, tmp_path: Path
) -> None:
    ops = store.create("ops", (), False)
    call = {"profile_id": NORDIC, "platforms": ["twitter"], "idempotency_key": "nordic-invite-1"}
    async with (
        running(late_transport, HttpSettings(transport="http"), store, journal_path=tmp_path / "j") as base,
        connect(base, ops) as client,
    ):
        first = await data(client, "invites_create", **call)
        again = await client.call_tool("invites_create", call)
        with sqlite3.connect(store.path) as raw:  # the token is narrowed to Acme since
            raw.execute("UPDATE tokens SET profiles = ? WHERE name = 'ops'", (json.dumps([ACME]),))
        raw.close()
        narrowed = await refusal(client, "invites_create", **call)
    url = first["invites"][0]["invite_url"]
    assert not again.is_error and "Replayed" in body(again)  # same scope: the replay, without the link
    assert url not in body(again) and structured(again)["withheld"] == ["invites[].invite_url"]
    assert "invites_create with a new idempotency_key makes a new link" in body(again)
    assert "could reach more profiles than it can now, so its answer is not replayed" in narrowed
    assert "nothing was sent" in narrowed and url not in narrowed and "Replayed" not in narrowed
    assert sum(1 for i in state.invites.values() if i["profileId"] == NORDIC) == 1


# -- item 5: confirm tokens across replicas and processes, bound to their caller ------------------


@pytest.fixture
def http_sandbox() -> Iterator[tuple[str, SandboxState]]:
    app = create_sandbox_app(api_key=TEST_KEY)
    with served(app) as base:
        yield base + "/api", app.state.late


async def test_a_confirm_token_from_one_stateless_replica_confirms_on_another_for_its_caller_only(
    redis_url: str, http_sandbox: tuple[str, SandboxState], tmp_path: Path
) -> None:
    base, state = http_sandbox
    tokens = RedisTokenStore(redis_url)
    try:
        alice, bob = tokens.create("alice", (), False), tokens.create("bob", (), False)
    finally:
        tokens.close()
    doomed = nordic_post(state, "Delete me across replicas")
    ports = [free_port(), free_port()]
    procs = [
        start_replica(port, base, redis_url, tmp_path / f"j{n}.sqlite3", stateless=True)
        for n, port in enumerate(ports)
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            await anyio.to_thread.run_sync(wait_for_port, port, proc)
        one, two = (f"http://127.0.0.1:{port}" for port in ports)
        async with (
            connect(one, alice) as alice_one,
            connect(two, alice) as alice_two,
            connect(two, bob) as bob_two,
        ):
            preview = await data(alice_one, "posts_delete", post_id=doomed)
            stolen = await bob_two.call_tool(
                "posts_delete", {"post_id": doomed, "confirm": preview["confirm_token"]}
            )
            assert doomed in state.posts
            results: list[CallToolResult] = []

            async def confirm(client: Client) -> None:
                arguments = {"post_id": doomed, "confirm": preview["confirm_token"]}
                results.append(await client.call_tool("posts_delete", arguments))

            async with anyio.create_task_group() as group:
                for n in range(6):
                    group.start_soon(confirm, (alice_one, alice_two)[n % 2])
            alice_sees = await data(alice_two, "journal_recent")
            bob_sees = await data(bob_two, "journal_recent")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
            assert proc.stderr is not None
            assert TEST_KEY.encode() not in proc.stderr.read()
    assert stolen.is_error and "made for other arguments or for another caller" in body(stolen)
    assert structured(stolen)["confirm_token"] != preview["confirm_token"]  # a fresh preview, his
    assert all(not r.is_error for r in results), [body(r) for r in results if r.is_error]
    assert sum("Replayed" in body(r) for r in results) == 5 and deletes(state, doomed) == 1
    assert doomed not in state.posts
    assert [(e["tool"], e["outcome"]) for e in alice_sees["entries"]] == [("posts_delete", "ok")]
    assert bob_sees["entries"] == []


def late_mcp_call(journal: Path, base: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(LATE_API_KEY=TEST_KEY, LATE_BASE_URL=base, LATE_JOURNAL_PATH=str(journal))
    command = [sys.executable, "-m", "late_mcp", "call", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_late_mcp_call_previews_in_one_process_and_confirms_in_the_next(
    http_sandbox: tuple[str, SandboxState], tmp_path: Path
) -> None:
    base, state = http_sandbox
    doomed = nordic_post(state, "Delete me from the command line")
    journal = tmp_path / "journal.sqlite3"
    preview = late_mcp_call(journal, base, "posts_delete", f"post_id={doomed}")
    assert preview.returncode == 0, preview.stderr
    found = re.search(r"confirm=(c\d+\.[0-9a-f]+)", preview.stdout)
    assert found is not None, preview.stdout
    assert doomed in state.posts
    done = late_mcp_call(journal, base, "posts_delete", f"post_id={doomed}", f"confirm={found.group(1)}")
    assert done.returncode == 0, done.stderr
    assert f"Deleted post {doomed}" in done.stdout and doomed not in state.posts
    repeat = late_mcp_call(journal, base, "posts_delete", f"post_id={doomed}", f"confirm={found.group(1)}")
    assert repeat.returncode == 0 and "Replayed" in repeat.stdout, repeat.stderr  # a token runs its call once
    assert deletes(state, doomed) == 1
    assert mode(tmp_path / "journal.sqlite3.secret") == 0o600


def test_processes_racing_to_make_the_secret_all_get_the_one_that_won(tmp_path: Path) -> None:
    secret = tmp_path / "new" / "journal.sqlite3.secret"
    script = (
        "import anyio, sys; from pathlib import Path; from late_mcp.safety.signing import FileSecret; "
        "print(anyio.run(FileSecret(Path(sys.argv[1])).key, 'confirm').hex())"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(secret)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert mode(secret) == 0o600 and mode(secret.parent) == 0o700
    assert [p.name for p in secret.parent.iterdir()] == [secret.name]  # no temporary file left behind


async def test_without_a_readable_secret_confirmations_are_refused(tmp_path: Path) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    state: SandboxState = app.state.late
    doomed = nordic_post(state, "Keep me while the secret is broken")
    journal = tmp_path / "journal.sqlite3"
    secret = tmp_path / "journal.sqlite3.secret"
    secret.write_text("not a secret\n")
    secret.chmod(0o600)
    server = build_server(make_settings(journal_path=journal), transport=httpx2.ASGITransport(app=app))
    async with Client(server, mode="legacy") as client:
        garbage = await refusal(client, "posts_delete", post_id=doomed)
        upload = await refusal(client, "media_browser_upload_start")
        secret.write_text("ab" * 32 + "\n")
        secret.chmod(0o644)
        shared = await refusal(client, "posts_delete", post_id=doomed)
        secret.unlink()  # gone: late-mcp makes a new one
        preview = await data(client, "posts_delete", post_id=doomed)
    assert "confirmations are refused because the signing secret" in garbage and str(secret) in garbage
    assert (
        "does not hold a late-mcp secret" in garbage and "delete it and late-mcp makes a new one" in garbage
    )
    assert "Nothing was changed" in garbage and "confirm_token" not in garbage
    assert "browser-upload tokens are bound to their caller" in upload and "nothing was sent" in upload
    assert ("POST", "/api/v1/media/upload-token") not in state.requests
    assert "is readable by other users (mode 0644)" in shared and f"chmod 600 {secret}" in shared
    assert preview["confirm_token"] and doomed in state.posts and deletes(state, doomed) == 0
    assert mode(secret) == 0o600


# -- browser-upload tokens: only the caller that started an upload polls it -----------------------


async def test_a_browser_upload_token_answers_only_its_caller_on_every_replica(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, state: SandboxState, tmp_path: Path
) -> None:
    alice, bob = store.create("alice", (), False), store.create("bob", (), True)
    journal = tmp_path / "journal.sqlite3"
    http = HttpSettings(transport="http")
    async with (
        running(late_transport, http, store, journal_path=journal) as one,
        running(late_transport, http, store, journal_path=journal) as two,
    ):
        async with connect(one, alice) as alice_one:
            started = await data(alice_one, "media_browser_upload_start")
        late_token = started["upload_url"].rsplit("/", 1)[-1]
        async with connect(two, bob) as bob_two, connect(two, alice) as alice_two:
            asked = len(state.requests)
            refused = [
                await refusal(bob_two, "media_browser_upload_status", token=started["token"]),
                await refusal(bob_two, "media_browser_upload_status", token=late_token),
                await refusal(alice_two, "media_browser_upload_status", token=late_token),
            ]
            assert len(state.requests) == asked  # none of them reached Late
            mine = await data(alice_two, "media_browser_upload_status", token=started["token"])
    assert mine["status"] == "pending"
    for text in refused:
        assert "not a browser-upload token this access token started, so nothing was asked" in text
    assert len(set(refused)) == 1  # the same answer whether the token exists elsewhere or not


async def test_tokens_with_any_characters_get_the_same_refusals(mcp: Client, state: SandboxState) -> None:
    for token in ("café.naïve", "ok.x" * 20, "日本.語"):
        upload = await refusal(mcp, "media_browser_upload_status", token=token)
        assert "not a browser-upload token this access token started" in upload
    confirm = await refusal(
        mcp, "posts_delete", post_id=nordic_post(state, "Still here"), confirm="c9999999999.é"
    )
    assert "made for other arguments or for another caller" in confirm


# -- item 14: the journal keeps ids, digests and outcomes; each caller reads its own --------------


async def test_the_journal_keeps_no_links_tokens_or_post_text(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    text = "Secret launch: croissants at dawn"
    post = {
        "content": text,
        "accounts": [SEED_ACCOUNT_ACME_TWITTER],
        "is_draft": True,
        "idempotency_key": "post-00001",
    }
    server = build_server(make_settings(journal_path=journal), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        invite = await data(
            client, "invites_create", profile_id=ACME, platforms=["threads"], idempotency_key="inv-00001"
        )
        upload = await data(client, "media_browser_upload_start", idempotency_key="upload-0001")
        link = await data(
            client, "accounts_connect_link", profile_id=ACME, platform="linkedin", idempotency_key="con-00001"
        )
        presigned = await data(client, "media_upload_link", filename="dawn.jpg", idempotency_key="put-000001")
        created = await data(client, "posts_create", **post)
        replayed_invite = await client.call_tool(
            "invites_create", {"profile_id": ACME, "platforms": ["threads"], "idempotency_key": "inv-00001"}
        )
        replayed_post = await client.call_tool("posts_create", post)
        entries = await data(client, "journal_recent")
    secrets = {
        "invite_url": invite["invites"][0]["invite_url"],
        "upload page": upload["upload_url"],
        "upload token": upload["token"].rpartition(".")[0],
        "auth_url": link["auth_url"],
        "presigned query": presigned["upload_url"].split("?", 1)[1],
        "post text": text,
    }
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("journal.sqlite3*")))  # noqa: ASYNC240
    shown = json.dumps(entries)
    for what, value in secrets.items():
        assert value.encode() not in stored, f"the journal file holds the {what}"
        assert value not in shown, f"journal_recent shows the {what}"
    assert len(entries["entries"]) == 5 and all(e["outcome"] == "ok" for e in entries["entries"])
    assert "Replayed" in body(replayed_invite) and secrets["invite_url"] not in body(replayed_invite)
    assert structured(replayed_post) == created  # the text comes back from the call's own arguments
    assert "Replayed" in body(replayed_post)


async def test_stored_answers_are_deleted_when_their_retention_ends(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    journal = Journal(tmp_path / "journal.sqlite3", clock=lambda: now)
    try:
        await journal.commit("idempotency", "local:k-1", owner=None, tool="t", digest="d", result="{}")
        now += RETENTION + timedelta(minutes=1)
        await journal.record(tool="t", targets=[], digest="d", outcome="ok")
    finally:
        await journal.aclose()
    with sqlite3.connect(tmp_path / "journal.sqlite3") as raw:
        assert raw.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0
    raw.close()


async def test_journal_recent_shows_each_caller_its_own_writes_on_every_replica(
    late_transport: ContractCheckingTransport, store: SQLiteTokenStore, tmp_path: Path
) -> None:
    names = ("alice", "bob")
    tokens = {name: store.create(name, (), False) for name in names}
    viewer = store.create("viewer", (), True)
    journal = tmp_path / "journal.sqlite3"
    http = HttpSettings(transport="http", token=SHARED)
    seen: dict[str, dict[str, Any]] = {}
    async with (
        running(late_transport, http, store, journal_path=journal) as one,
        running(late_transport, http, store, journal_path=journal) as two,
    ):
        for name, base in zip(names, (one, two), strict=True):
            async with connect(base, tokens[name]) as client:
                await data(client, "profiles_create", name=f"Client of {name}")
        for name, base in zip(names, (two, one), strict=True):  # each reads on the other replica
            async with connect(base, tokens[name]) as client:
                seen[name] = await data(client, "journal_recent")
        async with connect(one, viewer) as client:
            seen["viewer"] = await data(client, "journal_recent")
        async with connect(two, SHARED) as client:
            seen["admin"] = await data(client, "journal_recent")
    for name in names:
        (entry,) = seen[name]["entries"]
        assert entry["tool"] == "profiles_create" and f"Client of {name}" in entry["summary"]
        assert "caller" not in entry
    assert seen["viewer"]["entries"] == []
    assert sorted(e["caller"] for e in seen["admin"]["entries"]) == ["token:alice", "token:bob"]


V2_SCHEMA = journal_module._MIGRATIONS[1] + journal_module._MIGRATIONS[2]


async def test_a_version_2_journal_is_migrated_without_its_links_and_stored_answers(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite3"
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    link = "http://late.test/api/v1/platform-invites/tok-live-123/connect"
    with sqlite3.connect(path) as raw:  # as late-mcp left it before callers were recorded
        raw.executescript(V2_SCHEMA + "PRAGMA user_version = 2;")
        raw.execute(
            "INSERT INTO entries (at, tool, targets, digest, outcome, summary) VALUES"
            " (?, 'invites_create', '[]', 'sha256:a', 'ok', ?),"
            " (?, 'profiles_create', '[]', 'sha256:b', 'ok', ?)",
            (at, f"Invite for threads: {link}", at, "Created profile 'Old' (p1)."),
        )
        raw.execute(
            "INSERT INTO idempotency VALUES ('key-1', 'invites_create', 'sha256:a', ?, ?)",
            (json.dumps({"invite": {"invite_url": link}}), at),
        )
    raw.close()
    server = build_server(make_settings(journal_path=path), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        entries = (await data(client, "journal_recent"))["entries"]
    assert [(e["tool"], e.get("summary"), e.get("caller")) for e in entries] == [
        ("profiles_create", "Created profile 'Old' (p1).", None),
        ("invites_create", None, None),
    ]
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 3
        assert raw.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] == 0
    raw.close()
    assert link.encode() not in path.read_bytes()


async def test_entries_redis_kept_before_callers_were_recorded_still_read_without_their_links(
    redis_url: str, late_transport: ContractCheckingTransport
) -> None:
    link = "http://late.test/api/v1/platform-invites/tok-live-456/connect"
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    old = {"at": at, "targets": [], "digest": "sha256:a", "outcome": "ok", "request_id": None}
    with redis.Redis.from_url(redis_url) as raw:  # as late-mcp left them before callers were recorded
        raw.lpush("late-mcp:entries", json.dumps({**old, "id": 1, "tool": "invites_create", "summary": link}))
        raw.lpush(
            "late-mcp:entries", json.dumps({**old, "id": 2, "tool": "profiles_create", "summary": "Old"})
        )
    server = build_server(make_settings(redis_url=redis_url), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        await data(client, "profiles_create", name="New")
        entries = (await data(client, "journal_recent"))["entries"]
    assert [(e["tool"], e.get("summary"), e.get("caller")) for e in entries] == [
        ("profiles_create", 'Created profile "New" (' + entries[0]["targets"][0] + ").", "local"),
        ("profiles_create", "Old", None),
        ("invites_create", None, None),
    ]


# -- item 3: the journal, its -wal and -shm and the secret are the owner's only -------------------


async def test_the_journal_and_the_secret_are_created_private(
    late_transport: ContractCheckingTransport, state: SandboxState, tmp_path: Path
) -> None:
    journal = tmp_path / "data" / "late-mcp" / "journal.sqlite3"
    server = build_server(make_settings(journal_path=journal), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        await data(client, "profiles_create", name="Private")
        await data(client, "posts_delete", post_id=nordic_post(state, "Only previewed"))  # makes the secret
        files = {p.name: mode(p) for p in journal.parent.iterdir()}
    assert files == {
        "journal.sqlite3": 0o600,
        "journal.sqlite3-wal": 0o600,
        "journal.sqlite3-shm": 0o600,
        "journal.sqlite3.secret": 0o600,
    }
    assert mode(tmp_path / "data") == 0o700 and mode(journal.parent) == 0o700


async def test_a_journal_made_readable_by_others_is_made_private_again(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.sqlite3"
    for path in (journal, tmp_path / "journal.sqlite3-wal"):
        path.touch()
        path.chmod(0o644)
    server = build_server(make_settings(journal_path=journal), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        await data(client, "profiles_create", name="Tightened")
        assert mode(journal) == 0o600 and mode(tmp_path / "journal.sqlite3-wal") == 0o600
