"""The sandbox's in-memory Late account: seed data, validation and the domain rules.

Pure Python, no HTTP: `app.py` maps requests onto these methods. Public methods return
JSON-ready copies (changing them never changes the store) and raise `SandboxError`, which
carries the HTTP status and a message naming the field and what is allowed. Posts and queues
live in `posts.py` (`PostsMixin`, queue API in `queues.py`), logs in `logs.py`, analytics in
`analytics.py`, comments in `comments.py`, media uploads and usage in `media.py` (`MediaMixin`),
platform invites in `invites.py` (`InvitesMixin`), browser uploads in `upload_tokens.py`
(`UploadTokensMixin`); shared helpers and constants in `common.py`.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from late_mcp.sandbox.analytics import AnalyticsMixin
from late_mcp.sandbox.comments import CommentsMixin
from late_mcp.sandbox.common import (
    PLAN_LIMITS,
    PROFILE_URLS,
    RATE_LIMIT,
    SANDBOX_USER_ID,
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_INSTAGRAM,
    SEED_ACCOUNT_ACME_LINKEDIN,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_DEALS_TWITTER,
    SEED_ACCOUNT_NORDIC_TIKTOK,
    SEED_ACCOUNT_NORDIC_TWITTER,
    SEED_ACCOUNT_NORDIC_YOUTUBE,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
    SEED_QUEUE_ACME,
    SEED_QUEUE_NORDIC,
    Clock,
    Json,
    SandboxError,
    bad,
    check_platform,
    is_http_url,
    iso,
    new_id,
    opt_bool,
    opt_str,
    utc_now,
)
from late_mcp.sandbox.invites import InvitesMixin
from late_mcp.sandbox.logs import LogsMixin
from late_mcp.sandbox.media import MediaMixin
from late_mcp.sandbox.posts import PostsMixin
from late_mcp.sandbox.queues import QueuesMixin
from late_mcp.sandbox.upload_tokens import UploadTokensMixin

__all__ = [
    "SANDBOX_USER_ID",
    "SEED_ACCOUNT_ACME_FACEBOOK",
    "SEED_ACCOUNT_ACME_INSTAGRAM",
    "SEED_ACCOUNT_ACME_LINKEDIN",
    "SEED_ACCOUNT_ACME_TWITTER",
    "SEED_ACCOUNT_NORDIC_DEALS_TWITTER",
    "SEED_ACCOUNT_NORDIC_TIKTOK",
    "SEED_ACCOUNT_NORDIC_TWITTER",
    "SEED_ACCOUNT_NORDIC_YOUTUBE",
    "SEED_PROFILE_ACME",
    "SEED_PROFILE_NORDIC",
    "SEED_QUEUE_ACME",
    "SEED_QUEUE_NORDIC",
    "SandboxError",
    "SandboxState",
]

_SEED_PROFILES = (
    (SEED_PROFILE_ACME, "Acme Bakery", "#ffeda0", True),
    (SEED_PROFILE_NORDIC, "Nordic Outdoor", "#a0d8ff", False),
)
# id, profile, platform, username, displayName, profileUrl (None: built from the platform's pattern)
_SEED_ACCOUNTS: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    (SEED_ACCOUNT_ACME_TWITTER, SEED_PROFILE_ACME, "twitter", "acmebakery", "Acme Bakery", None),
    (SEED_ACCOUNT_ACME_INSTAGRAM, SEED_PROFILE_ACME, "instagram", "acmebakery", "Acme Bakery", None),
    (SEED_ACCOUNT_ACME_LINKEDIN, SEED_PROFILE_ACME, "linkedin", "acme-bakery", "Acme Bakery", None),
    (
        SEED_ACCOUNT_ACME_FACEBOOK,
        SEED_PROFILE_ACME,
        "facebook",
        "Acme Bakery",
        "Acme Bakery",
        "https://facebook.com/104857600000001",
    ),
    (SEED_ACCOUNT_NORDIC_TWITTER, SEED_PROFILE_NORDIC, "twitter", "nordicoutdoor", "Nordic Outdoor", None),
    (SEED_ACCOUNT_NORDIC_DEALS_TWITTER, SEED_PROFILE_NORDIC, "twitter", "nordic_deals", "Nordic Deals", None),
    (SEED_ACCOUNT_NORDIC_TIKTOK, SEED_PROFILE_NORDIC, "tiktok", "nordicoutdoor", "Nordic Outdoor", None),
    (
        SEED_ACCOUNT_NORDIC_YOUTUBE,
        SEED_PROFILE_NORDIC,
        "youtube",
        "Nordic Outdoor",
        "Nordic Outdoor",
        "https://youtube.com/@nordicoutdoor",
    ),
)
_WEEKDAY_SLOTS: list[Json] = [{"dayOfWeek": d, "time": t} for d in range(1, 6) for t in ("09:00", "15:00")]


class SandboxState(
    PostsMixin,
    QueuesMixin,
    LogsMixin,
    AnalyticsMixin,
    CommentsMixin,
    MediaMixin,
    InvitesMixin,
    UploadTokensMixin,
):
    """One Late user's data held in memory: profiles, accounts, invites, posts, queues, uploads.

    `clock` returns the current time (aware, any zone); inject a fixed one to make tests exact.
    """

    def __init__(
        self, *, clock: Clock | None = None, seed: bool = True, rate_limit: int = RATE_LIMIT
    ) -> None:
        self.clock = clock or utc_now
        self.rate_limit = rate_limit
        self.profiles = {}
        self.accounts = {}
        self.queues = {}  # profile id -> its default queue
        self.posts = {}
        self.post_keys = {}  # Idempotency-Key of POST /v1/posts -> (body digest, when, answer)
        self.presigned = {}
        self.uploads = {}  # key -> {size, sha256, contentType}
        self.uploads_used = 0
        self.upload_tokens: dict[str, Json] = {}  # browser uploads (upload_tokens.py)
        self.token_expiry: dict[str, datetime] = {}
        self.invites = {}
        self.post_logs = {}  # post id -> its publishing log, oldest first
        self.history = {}  # published before this session (analytics' external posts) -> figures
        self.comments = {}  # history post id -> its comments
        self.analytics_addon = True  # False: the plan lacks the Analytics add-on
        # False: accounts' profileId is a plain id, not {_id, name, color} (the spec allows both).
        self.populated_account_profiles = True
        # True: lists answer for every profile whatever profileId asked (a Late that ignores it).
        self.ignores_profile_filter = False
        self.ignores_date_filter = False  # True: GET /v1/posts ignores dateFrom/dateTo
        self.ignores_status_filter = False  # True: GET /v1/posts ignores status (an older Late)
        self.connect_sessions: dict[str, Json] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request the app handled
        now = self.clock()
        self.signup_date = now - timedelta(days=90)
        self._rate_minute = -1
        self._rate_used = 0
        if seed:
            self._seed(now)

    def _seed(self, now: datetime) -> None:
        base = now - timedelta(days=30)
        for n, (pid, name, color, default) in enumerate(_SEED_PROFILES):
            self.profiles[pid] = {
                "_id": pid,
                "userId": SANDBOX_USER_ID,
                "name": name,
                "description": "",
                "color": color,
                "isDefault": default,
                "createdAt": iso(base + timedelta(minutes=n)),
            }
        for n, (aid, pid, platform, user, display, url) in enumerate(_SEED_ACCOUNTS):
            created = base + timedelta(hours=1, minutes=n)
            self._add_account(pid, platform, user, display, account_id=aid, profile_url=url, created=created)
        self.token_expiry[SEED_ACCOUNT_NORDIC_YOUTUBE] = now + timedelta(hours=12)
        for pid, qid in ((SEED_PROFILE_ACME, SEED_QUEUE_ACME), (SEED_PROFILE_NORDIC, SEED_QUEUE_NORDIC)):
            self.set_queue(pid, "Europe/Amsterdam", _WEEKDAY_SLOTS, queue_id=qid)
        self._seed_history(now)
        self._seed_comments(now)

    def take_rate_token(self) -> tuple[int, int]:
        """Count one request against this minute: (requests remaining, unix time of the next minute).

        Remaining is -1 once the request is over the limit (the app answers 429 then)."""
        minute = int(self.clock().timestamp()) // 60
        if minute != self._rate_minute:
            self._rate_minute, self._rate_used = minute, 0
        self._rate_used += 1
        return max(self.rate_limit - self._rate_used, -1), (minute + 1) * 60

    # -- profiles -----------------------------------------------------------------------------------

    def list_profiles(self) -> list[Json]:
        """All profiles, oldest first."""
        return copy.deepcopy(list(self.profiles.values()))

    def get_profile(self, profile_id: str) -> Json:
        return copy.deepcopy(self._profile(profile_id))

    @staticmethod
    def _profile_fields(body: Mapping[str, Any], *, creating: bool) -> Json:
        fields: Json = {}
        name = opt_str(body, "name")
        if name is not None or creating:
            if name is None or not name.strip():
                raise bad("name is required and must be a non-empty string")
            if len(name.strip()) > 100:
                raise bad(f"name must be at most 100 characters (got {len(name.strip())})")
            fields["name"] = name.strip()
        for field in ("description", "color"):
            if (value := opt_str(body, field)) is not None:
                fields[field] = value
        if not creating and (default := opt_bool(body, "isDefault")) is not None:
            fields["isDefault"] = default
        return fields

    def create_profile(self, body: Mapping[str, Any]) -> Json:
        """A new profile from {name, description?, color?}; the first profile becomes the default."""
        fields = self._profile_fields(body, creating=True)
        if len(self.profiles) >= PLAN_LIMITS["profiles"]:
            raise SandboxError(403, f"Profile limit reached ({PLAN_LIMITS['profiles']} on the Sandbox plan)")
        pid = new_id()
        self.profiles[pid] = {
            "_id": pid,
            "userId": SANDBOX_USER_ID,
            "description": "",
            "color": "#ffeda0",
            "isDefault": not self.profiles,
            "createdAt": iso(self.clock()),
            **fields,
        }
        return copy.deepcopy(self.profiles[pid])

    def update_profile(self, profile_id: str, body: Mapping[str, Any]) -> Json:
        """Change name, description, color or isDefault; a new default clears the old one."""
        profile = self._profile(profile_id)
        fields = self._profile_fields(body, creating=False)
        if fields.get("isDefault"):
            for other in self.profiles.values():
                other["isDefault"] = False
        profile.update(fields)
        return copy.deepcopy(profile)

    def delete_profile(self, profile_id: str) -> None:
        """Delete a profile without accounts, with its queue and invites."""
        self._profile(profile_id)
        if any(a["profileId"] == profile_id for a in self.accounts.values()):
            raise bad("Profile has connected accounts; disconnect them first")
        del self.profiles[profile_id]
        self.queues.pop(profile_id, None)
        for invite_id in [i["_id"] for i in self.invites.values() if i["profileId"] == profile_id]:
            del self.invites[invite_id]

    # -- accounts -----------------------------------------------------------------------------------

    def _add_account(
        self,
        profile_id: str,
        platform: str,
        username: str,
        display_name: str,
        *,
        account_id: str | None = None,
        profile_url: str | None = None,
        created: datetime | None = None,
    ) -> Json:
        aid = account_id or new_id()
        created = created or self.clock()
        self.accounts[aid] = {
            "_id": aid,
            "platform": platform,
            "profileId": profile_id,
            "username": username,
            "displayName": display_name,
            "profileUrl": profile_url or PROFILE_URLS[platform].format(u=username),
            "isActive": True,
            "createdAt": iso(created),
        }
        self.token_expiry[aid] = created + timedelta(days=60)
        return self.accounts[aid]

    def _connect_account(self, profile_id: str, platform: str, prefix: str) -> Json:
        """Create an account as a finished OAuth flow would: `<prefix>_<platform>`, made unique."""
        taken = {a["username"] for a in self.accounts.values() if a["platform"] == platform}
        username, n = f"{prefix}_{platform}", 1
        while username in taken:
            n += 1
            username = f"{prefix}_{platform}_{n}"
        display = username.replace("_", " ").title()
        return self._account_view(self._add_account(profile_id, platform, username, display))

    def _account_view(self, account: Json) -> Json:
        view = copy.deepcopy(account)
        profile = self.profiles.get(account["profileId"], {})
        view["profileId"] = {
            "_id": account["profileId"],
            "name": profile.get("name", ""),
            "color": profile.get("color", ""),
        }
        return view

    def list_accounts(self, profile_id: str | None = None) -> list[Json]:
        """Accounts (of one profile, if given) with `profileId` populated as {_id, name, color}, or
        as the plain id when `populated_account_profiles` is off."""
        found = [a for a in self.accounts.values() if profile_id in (None, a["profileId"])]
        if not self.populated_account_profiles:
            return copy.deepcopy(found)
        return [self._account_view(a) for a in found]

    def delete_account(self, account_id: str) -> None:
        """Disconnect an account."""
        if self.accounts.pop(account_id, None) is None:
            raise SandboxError(404, "Account not found")
        self.token_expiry.pop(account_id, None)

    def account_health(
        self, profile_id: str | None = None, platform: str | None = None, status: str | None = None
    ) -> Json:
        """Token health per account (expired: error; expiring within 24 h: warning) and a summary."""
        if status and status not in ("healthy", "warning", "error"):
            raise bad(f"status must be one of: healthy, warning, error (got {status!r})")
        now, rows = self.clock(), []
        for account in self.accounts.values():
            if (profile_id and account["profileId"] != profile_id) or (
                platform and account["platform"] != platform
            ):
                continue
            expires = self.token_expiry.get(account["_id"], now + timedelta(days=60))
            state, issues = "healthy", []
            if expires <= now:
                state, issues = "error", ["Token expired; reconnect the account"]
            elif expires - now <= timedelta(hours=24):
                state, issues = "warning", ["Token expires within 24 hours"]
            if status and state != status:
                continue
            ok = state != "error"
            rows.append(
                {
                    "accountId": account["_id"],
                    "platform": account["platform"],
                    "username": account["username"],
                    "displayName": account["displayName"],
                    "profileId": account["profileId"],
                    "status": state,
                    "canPost": ok,
                    "canFetchAnalytics": ok,
                    "tokenValid": ok,
                    "tokenExpiresAt": iso(expires),
                    "needsReconnect": not ok,
                    "issues": issues,
                }
            )
        summary = {"total": len(rows)}
        summary.update({s: sum(r["status"] == s for r in rows) for s in ("healthy", "warning", "error")})
        summary["needsReconnect"] = sum(r["needsReconnect"] for r in rows)
        return {"summary": summary, "accounts": rows}

    # -- connect ------------------------------------------------------------------------------------

    def start_connect(
        self, platform: str, profile_id: str | None, redirect_url: str | None, origin: str
    ) -> Json:
        """Begin a simulated OAuth connection; opening the returned authUrl completes it."""
        check_platform(platform)
        if not profile_id:
            raise bad("profileId query parameter is required")
        self._profile(profile_id)
        if redirect_url is not None and not is_http_url(redirect_url):
            raise bad(f"redirect_url must be an absolute http(s) URL (got {redirect_url!r})")
        token = secrets.token_hex(16)
        if platform == "telegram":  # Telegram connects with an access code sent to Late's bot
            token = f"LATE-{secrets.token_hex(3).upper()}"
        self.connect_sessions[token] = {
            "platform": platform,
            "profileId": profile_id,
            "redirectUrl": redirect_url,
        }
        if platform == "telegram":
            expires = self.clock() + timedelta(minutes=15)
            steps = [
                "1. Add @LateSandboxBot as an administrator of the channel or group",
                f"2. Send: {token} @yourchannel to @LateSandboxBot",
            ]
            return {"code": token, "expiresAt": iso(expires), "expiresIn": 900,
                    "botUsername": "LateSandboxBot", "instructions": steps}  # fmt: skip
        return {"authUrl": f"{origin}/sandbox/oauth/{platform}?state={token}", "state": token}

    def complete_connect(self, state_token: str) -> Json:
        """Finish a connection begun by `start_connect`: {message, account, redirectUrl}."""
        session = self.connect_sessions.pop(state_token, None)
        if session is None:
            raise SandboxError(404, "Unknown or already used OAuth state")
        self._profile(session["profileId"])
        account = self._connect_account(session["profileId"], session["platform"], "sandbox")
        message = f"{session['platform']} account connected"
        return {"message": message, "account": account, "redirectUrl": session["redirectUrl"]}
