"""Issue 15, items 3, 12 and 15: profile-scoped lists filtered on our side whatever Late did,
profiles_delete revoking the profile's open invites, and posts_list from/to in the person's zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx2
import pytest
from mcp import Client

from conftest import call, fails, make_settings, ok, structured, text
from contract import ContractCheckingTransport
from late_mcp.sandbox import SandboxState
from late_mcp.sandbox.common import iso
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server

pytestmark = pytest.mark.anyio
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class Recording(httpx2.AsyncBaseTransport):
    """Passes requests on and keeps their URLs: which filters were sent to Late."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx2.URL] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def recording(late_transport: ContractCheckingTransport) -> Recording:
    return Recording(late_transport)


@pytest.fixture
async def session(recording: Recording, tmp_path: Path) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(), transport=recording), mode="legacy") as client:
        yield client


def ignoring_filters(state: SandboxState) -> None:
    """The sandbox plays a Late that ignores profileId (and dateFrom/dateTo) on its lists."""
    state.ignores_profile_filter = True
    state.ignores_date_filter = True


# -- item 3: every profile-scoped answer holds only that profile's rows -----------------------------


async def test_accounts_health_for_a_profile_never_lists_another_clients_account(
    session: Client, state: SandboxState
) -> None:
    ignoring_filters(state)
    acme = {a["_id"] for a in state.accounts.values() if a["profileId"] == SEED_PROFILE_ACME}
    nordic = {a["_id"] for a in state.accounts.values() if a["profileId"] == SEED_PROFILE_NORDIC}
    results: dict[str, Any] = {}

    async def health(profile_id: str) -> None:
        results[profile_id] = await call(session, "accounts_health", profile_id=profile_id)

    async with anyio.create_task_group() as tg:  # two clients asked at once: neither sees the other
        tg.start_soon(health, SEED_PROFILE_ACME)
        tg.start_soon(health, SEED_PROFILE_NORDIC)
    for profile_id, own in ((SEED_PROFILE_ACME, acme), (SEED_PROFILE_NORDIC, nordic)):
        data = structured(results[profile_id])
        assert {a["account_id"] for a in data["accounts"]} == own
        assert data["summary"]["total"] == len(own)
        assert text(results[profile_id]).startswith(f"{len(own)} accounts:")
    listed = await ok(session, "accounts_list", profile_id=SEED_PROFILE_ACME)
    assert {a["id"] for a in listed["accounts"]} == acme  # the two tools agree on the count


async def test_accounts_list_and_invites_list_keep_only_the_profiles_rows(
    session: Client, state: SandboxState
) -> None:
    mine = await ok(session, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["tiktok"])
    await ok(session, "invites_create", profile_id=SEED_PROFILE_NORDIC, platforms=["pinterest"])
    ignoring_filters(state)
    accounts = await ok(session, "accounts_list", profile_id=SEED_PROFILE_NORDIC)
    assert accounts["accounts"] and {a["profile_id"] for a in accounts["accounts"]} == {SEED_PROFILE_NORDIC}
    invites = await ok(session, "invites_list", profile_id=SEED_PROFILE_ACME)
    assert [i["id"] for i in invites["invites"]] == [mine["invites"][0]["id"]]


async def test_posts_list_for_a_profile_drops_other_clients_posts_and_their_counts(
    session: Client, state: SandboxState
) -> None:
    later = iso(datetime.now(UTC) + timedelta(days=3))
    for account, platform in (
        (SEED_ACCOUNT_ACME_TWITTER, "twitter"),
        (SEED_ACCOUNT_NORDIC_TWITTER, "twitter"),
    ):
        state.create_post_keyed(
            {
                "content": f"for {account}",
                "platforms": [{"platform": platform, "accountId": account}],
                "scheduledFor": later,
            },
            None,
        )
    ignoring_filters(state)
    result = await call(session, "posts_list", profile_id=SEED_PROFILE_ACME)
    data = structured(result)
    assert [t["account_id"] for p in data["posts"] for t in p["targets"]] == [SEED_ACCOUNT_ACME_TWITTER]
    assert "pagination" not in data  # Late's total counted the other client's post
    assert "Late's page count and total left out: they counted posts outside this profile" in text(result)


# -- item 12: profiles_delete revokes the open invites it lists ----------------------------------


PLATFORMS = ("instagram", "tiktok", "facebook", "linkedin", "youtube", "pinterest")


async def new_client_with_invites(session: Client, state: SandboxState) -> tuple[str, set[str]]:
    profile_id = (await ok(session, "profiles_create", name="Bakkerij Jansen"))["profile"]["id"]
    ids = set()
    for platform in (*PLATFORMS, "threads"):
        ids.add(
            (await ok(session, "invites_create", profile_id=profile_id, platforms=[platform]))["invites"][0][
                "id"
            ]
        )
    used = next(i for i in state.invites.values() if i["_id"] in ids and i["platform"] == "threads")
    used["isUsed"] = True  # the client connected threads (then disconnected): not open
    return profile_id, ids - {used["_id"]}


def revokes(recording: Recording) -> list[str]:
    return [
        u.params["id"]
        for u in recording.urls
        if u.path.endswith("/v1/platform-invites") and u.params.get("id")
    ]


async def test_profiles_delete_preview_lists_open_invites_and_confirming_revokes_them(
    session: Client, state: SandboxState, recording: Recording
) -> None:
    profile_id, open_ids = await new_client_with_invites(session, state)
    preview = await call(session, "profiles_delete", profile_id=profile_id)
    shown = structured(preview)["preview"]
    assert {i["id"] for i in shown["open_invites"]} == open_ids
    assert "its 6 open invites are revoked (" in shown["effect"]
    assert "and revoke its 6 open invites" in text(preview)
    token = structured(preview)["confirm_token"]
    later = await ok(session, "invites_create", profile_id=profile_id, platforms=["twitter"])

    answers: list[Any] = []

    async def confirm() -> None:
        answers.append(await call(session, "profiles_delete", profile_id=profile_id, confirm=token))

    async with anyio.create_task_group() as tg:  # a double submit: the deletion runs once
        tg.start_soon(confirm)
        tg.start_soon(confirm)
    assert all(not a.is_error for a in answers), [text(a) for a in answers]
    done = structured(answers[0])
    assert set(done["revoked_invites"]) == open_ids | {later["invites"][0]["id"]}  # sent since: revoked too
    assert sorted(revokes(recording)) == sorted(done["revoked_invites"])  # each once
    assert "and revoked its 7 open invites" in text(answers[0])
    journal = await ok(session, "journal_recent")
    entries = [e for e in journal["entries"] if e["tool"] == "profiles_delete"]
    assert len(entries) == 1 and profile_id in str(entries[0])


async def test_profiles_delete_without_invites_says_nothing_of_them(session: Client) -> None:
    profile_id = (await ok(session, "profiles_create", name="Quiet Client"))["profile"]["id"]
    preview = await ok(session, "profiles_delete", profile_id=profile_id)
    assert preview["preview"]["open_invites"] == []
    assert preview["preview"]["effect"] == "Deletes the profile and its queue settings."
    done = await ok(session, "profiles_delete", profile_id=profile_id, confirm=preview["confirm_token"])
    assert done == {"deleted": profile_id, "revoked_invites": []}


# -- item 15: posts_list from/to, in the person's zone --------------------------------------------


def schedule(state: SandboxState, account: str, moment: datetime) -> str:
    post = state.create_post_keyed(
        {
            "content": f"at {moment.isoformat()}",
            "platforms": [{"platform": "facebook", "accountId": account}],
            "scheduledFor": iso(moment),
            "timezone": "Europe/Amsterdam",
        },
        None,
    )[0]
    return str(post["_id"])


async def test_posts_list_from_to_are_days_in_the_profiles_queue_zone(
    session: Client, state: SandboxState, recording: Recording
) -> None:
    day = (datetime.now(AMSTERDAM) + timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = day.date().isoformat()
    last = (day + timedelta(days=2)).date().isoformat()
    inside = {
        schedule(
            state, SEED_ACCOUNT_ACME_FACEBOOK, day + timedelta(minutes=30)
        ),  # 00:30 Amsterdam: 23:30 UTC the day before
        schedule(state, SEED_ACCOUNT_ACME_FACEBOOK, day + timedelta(days=2, hours=23, minutes=30)),
    }
    schedule(state, SEED_ACCOUNT_ACME_FACEBOOK, day - timedelta(minutes=30))  # the evening before
    schedule(state, SEED_ACCOUNT_ACME_FACEBOOK, day + timedelta(days=3, minutes=5))  # the day after
    for ignored in (False, True):  # Late filtering, and a Late that ignores dateFrom/dateTo
        state.ignores_date_filter = ignored
        result = await call(
            session, "posts_list", profile_id=SEED_PROFILE_ACME, **{"from": first, "to": last}
        )
        data = structured(result)
        assert {p["id"] for p in data["posts"]} == inside, ignored
        assert data["dates"]["zone"] == "Europe/Amsterdam"
        assert "(the profile's queue zone)" in text(result)
        assert f"from {day:%a} {day.day} {day:%b %Y} 00:00 Europe/Amsterdam" in text(result)
    sent = [u.params for u in recording.urls if u.path.endswith("/v1/posts")][-1]
    assert sent["dateFrom"] <= (day.astimezone(UTC) - timedelta(hours=1)).date().isoformat()
    assert sent["dateTo"] >= last


async def test_posts_list_zone_is_the_calls_then_late_timezone_then_utc(
    late_transport: ContractCheckingTransport, state: SandboxState
) -> None:
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    settings = make_settings(timezone="America/New_York")
    async with Client(build_server(settings, transport=late_transport), mode="legacy") as client:
        given = await call(client, "posts_list", timezone="Asia/Tokyo", **{"from": day.isoformat()})
        assert structured(given)["dates"]["zone_source"] == "timezone argument"
        assert "Asia/Tokyo (timezone argument)" in text(given)
        configured = await call(client, "posts_list", profile_id=SEED_PROFILE_ACME, to=day.isoformat())
        assert "America/New_York (LATE_TIMEZONE)" in text(configured)  # before the profile's queue zone
    async with Client(build_server(make_settings(), transport=late_transport), mode="legacy") as client:
        plain = await call(client, "posts_list", **{"from": f"{day.isoformat()}T09:00"})
        assert structured(plain)["dates"] == {
            "start": f"{day.isoformat()}T09:00:00Z",
            "zone": "UTC",
            "zone_source": "default (UTC)",
        }


async def test_posts_list_refuses_unreadable_or_reversed_dates(session: Client) -> None:
    message = await fails(session, "posts_list", **{"from": "next week"})
    assert "from 'next week' is not a date or date-time" in message and "'2026-12-01'" in message
    message = await fails(session, "posts_list", **{"from": "2026-12-09", "to": "2026-12-02"})
    assert "is after to" in message and "give from before to" in message
    message = await fails(session, "posts_list", timezone="Mars/Olympus", to="2026-12-02")
    assert "not an IANA time zone name" in message
