"""OAuth sign-in records: users, registered clients, consent requests, grants, codes and tokens.

A grant is what a person approved on the consent page: one application, the client profiles it
may touch (or every profile) and whether it may write. It becomes a `Principal` exactly like a
scoped token (name "oauth:<grant id>", so the caller id is "oauth:<grant id>"), and so goes
through the same checks (late_mcp.server.access, late_mcp.late.scope).

Every secret handed out (authorization codes, access and refresh tokens, consent request ids) is
256 random bits, stored only as its SHA-256; passwords are stored as scrypt (standard library) with
a random salt. Access tokens live ACCESS_SECONDS, refresh tokens REFRESH_SECONDS and are rotated on
use: a refresh token (or code) presented a second time ends the whole grant. Each access token
names the resource (this server's /mcp URL) it was issued for. Every look-up reads the store, so a
revoked grant is refused at once by every replica sharing it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from late_mcp.auth.oauth_kv import KeyValue, Record
from late_mcp.auth.principal import Principal
from late_mcp.auth.tokens import NAME_PATTERN, TokenError, token_hash

ACCESS_SECONDS = 3600
REFRESH_SECONDS = 30 * 24 * 3600
CODE_SECONDS = 300
REQUEST_SECONDS = 900
LAST_USED_STEP = 60.0  # a grant's "last used" is written at most this often
ACCESS_PREFIX, REFRESH_PREFIX, CODE_PREFIX = "lmat_", "lmrt_", "lmac_"
GRANT_CALLER = "oauth:"
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class OAuthRefusal(Exception):
    """An OAuth request refused; `error` is the OAuth error code, the message the reason and fix."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


@dataclass(frozen=True)
class GrantInfo:
    id: str
    application: str
    user: str
    profiles: tuple[str, ...] | None
    read_only: bool
    created_at: float
    last_used: float | None
    revoked_at: float | None


def _secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, dklen=32, **SCRYPT)


def grant_principal(grant_id: str, grant: Record) -> Principal:
    """The caller a grant makes: the consented profiles (None: every profile) and read-only."""
    profiles = grant["profiles"]
    return Principal(
        name=GRANT_CALLER + grant_id,
        profiles=None if profiles is None else frozenset(profiles),
        read_only=bool(grant["read_only"]),
    )


class OAuthStore:
    """The OAuth rules over a key-value backend (late_mcp.auth.oauth_kv); every method blocks."""

    def __init__(self, kv: KeyValue, clock: Any = time.time) -> None:
        self.kv = kv
        self.clock = clock

    # -- users -------------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        if not NAME_PATTERN.match(name):
            raise TokenError(f"A user name is 1-64 letters, digits or _.@- characters; got {name!r}.")
        if len(password) < 8:
            raise TokenError("A password needs at least 8 characters; choose a longer one.")
        salt = secrets.token_bytes(16)
        record = {"salt": salt.hex(), "hash": _scrypt(password, salt).hex(), "created_at": self.clock()}
        if not self.kv.add("user", name, record):
            raise TokenError(f"A user named {name!r} already exists; `late-mcp user remove {name}` first.")

    def remove_user(self, name: str) -> int:
        """Remove a user and end every grant they approved; returns how many grants ended."""
        if not self.kv.delete("user", name):
            raise TokenError(f"No user named {name!r}; `late-mcp user list` shows them.")
        ended = 0
        for grant_id, grant in self.kv.items("grant"):
            if grant["user"] == name and grant["revoked_at"] is None:
                ended += self.revoke_grant(grant_id, quiet=True)
        return ended

    def list_users(self) -> list[tuple[str, float]]:
        return sorted((name, r["created_at"]) for name, r in self.kv.items("user"))

    def check_user(self, name: str, password: str) -> bool:
        """The password is this user's (compared in constant time; an unknown user costs the same)."""
        record = self.kv.get("user", name) if NAME_PATTERN.match(name) else None
        salt = bytes.fromhex(record["salt"]) if record else b"\0" * 16
        given = _scrypt(password, salt)
        return record is not None and hmac.compare_digest(given.hex(), record["hash"])

    def in_use(self) -> bool:
        """Sign-in was set up: a user or a grant exists (then every request needs a token)."""
        return self.kv.any("user", "grant")

    # -- clients and consent requests ------------------------------------------------------------

    def save_client(self, client_id: str, record: Record) -> None:
        self.kv.put("client", client_id, record)

    def load_client(self, client_id: str) -> Record | None:
        return self.kv.get("client", client_id)

    def new_request(self, record: Record) -> str:
        """File an authorization request awaiting consent; the id goes in the consent page's URL."""
        request_id = secrets.token_urlsafe(32)
        self.kv.put(
            "request", token_hash(request_id), {**record, "expires_at": self.clock() + REQUEST_SECONDS}
        )
        return request_id

    def load_request(self, request_id: str) -> Record | None:
        record = self.kv.get("request", token_hash(request_id))
        return record if record is not None and record["expires_at"] > self.clock() else None

    def update_request(self, request_id: str, record: Record) -> None:
        self.kv.put("request", token_hash(request_id), record)

    def take_request(self, request_id: str) -> Record | None:
        """The request, consumed: a consent form is answered once."""
        key = token_hash(request_id)
        record = self.kv.get("request", key)
        if record is None or not self.kv.delete("request", key) or record["expires_at"] <= self.clock():
            return None
        return record

    # -- grants and codes ------------------------------------------------------------------------

    def approve(
        self,
        request: Record,
        *,
        user: str,
        profiles: tuple[str, ...] | None,
        read_only: bool,
    ) -> str:
        """Record the grant a person approved and return the authorization code for it."""
        self.purge()
        grant_id = secrets.token_hex(8)
        now = self.clock()
        grant = {
            "client_id": request["client_id"],
            "application": request["client_name"],
            "user": user,
            "profiles": None if profiles is None else sorted(set(profiles)),
            "read_only": read_only,
            "resource": request["resource"],
            "scopes": request["scopes"],
            "created_at": now,
            "last_used": None,
            "revoked_at": None,
        }
        self.kv.put("grant", grant_id, grant)
        code = _secret(CODE_PREFIX)
        self.kv.put(
            "code",
            token_hash(code),
            {
                "grant_id": grant_id,
                "client_id": request["client_id"],
                "redirect_uri": request["redirect_uri"],
                "explicit": request["explicit"],
                "code_challenge": request["code_challenge"],
                "resource": request["resource"],
                "scopes": request["scopes"],
                "expires_at": now + CODE_SECONDS,
                "used_at": None,
            },
        )
        return code

    def load_code(self, code: str) -> Record | None:
        return self.kv.get("code", token_hash(code))

    def use_code(self, code: str) -> dict[str, Any]:
        """Exchange a code for tokens, once. A second use ends the grant it made."""
        key = token_hash(code)
        record = self.kv.get("code", key)
        if record is None:
            raise OAuthRefusal("invalid_grant", "authorization code does not exist")
        if record["used_at"] is not None or not self.kv.swap(
            "code", key, record, {**record, "used_at": self.clock()}
        ):
            self.revoke_grant(record["grant_id"], quiet=True)
            raise OAuthRefusal(
                "invalid_grant",
                "authorization code was already used; the grant it made is revoked. Sign in again.",
            )
        grant = self._live_grant(record["grant_id"])
        return self._issue(record["grant_id"], grant)

    def _live_grant(self, grant_id: str) -> Record:
        grant = self.kv.get("grant", grant_id)
        if grant is None or grant["revoked_at"] is not None:
            raise OAuthRefusal("invalid_grant", "this grant was revoked; sign in again to approve a new one")
        return grant

    def _issue(self, grant_id: str, grant: Record) -> dict[str, Any]:
        now = self.clock()
        access, refresh = _secret(ACCESS_PREFIX), _secret(REFRESH_PREFIX)
        self.kv.put(
            "access",
            token_hash(access),
            {
                "grant_id": grant_id,
                "client_id": grant["client_id"],
                "resource": grant["resource"],
                "expires_at": int(now + ACCESS_SECONDS),
            },
        )
        self.kv.put(
            "refresh",
            token_hash(refresh),
            {
                "grant_id": grant_id,
                "client_id": grant["client_id"],
                "resource": grant["resource"],
                "expires_at": int(now + REFRESH_SECONDS),
                "scopes": grant.get("scopes", []),
                "used_at": None,
            },
        )
        return {"access_token": access, "refresh_token": refresh, "expires_in": ACCESS_SECONDS}

    def load_refresh(self, token: str) -> Record | None:
        return self.kv.get("refresh", token_hash(token))

    def rotate(self, token: str) -> dict[str, Any]:
        """New tokens for a refresh token, once: a refresh token used twice ends the whole grant."""
        key = token_hash(token)
        record = self.kv.get("refresh", key)
        if record is None:
            raise OAuthRefusal("invalid_grant", "refresh token does not exist")
        if record["used_at"] is not None or not self.kv.swap(
            "refresh", key, record, {**record, "used_at": self.clock()}
        ):
            self.revoke_grant(record["grant_id"], quiet=True)
            raise OAuthRefusal(
                "invalid_grant",
                "refresh token was already used (refresh tokens are rotated on use), so the whole "
                "grant is revoked in case it was stolen. Sign in again.",
            )
        return self._issue(record["grant_id"], self._live_grant(record["grant_id"]))

    def purge(self) -> None:
        """Forget consent requests, codes and tokens past their expiry (a used refresh token is kept
        until then, so its reuse is still recognised)."""
        now = self.clock()
        for kind in ("request", "code", "access", "refresh"):
            for key, record in self.kv.items(kind):
                if record["expires_at"] <= now:
                    self.kv.delete(kind, key)

    # -- the resource server's side ------------------------------------------------------------------

    def lookup_access(self, token: str, resource: str) -> Principal | str | None:
        """The caller an access token stands for; a reason (str) when it is known but refused;
        None when it is not an access token of this store."""
        record = self.kv.get("access", token_hash(token))
        if record is None:
            return None
        now = self.clock()
        if record["expires_at"] <= now:
            return (
                "The access token expired (they live one hour); the client should use its refresh token "
                "or sign in again."
            )
        if record["resource"].rstrip("/") != resource.rstrip("/"):
            return (
                f"The access token was issued for the resource {record['resource']}, not for this server "
                f"({resource}); sign in to this server."
            )
        grant = self.kv.get("grant", record["grant_id"])
        if grant is None or grant["revoked_at"] is not None:
            return "The grant behind this access token was revoked; sign in again."
        if grant["last_used"] is None or now - grant["last_used"] > LAST_USED_STEP:
            self.kv.swap("grant", record["grant_id"], grant, {**grant, "last_used": now})
        return grant_principal(record["grant_id"], grant)

    def access_record(self, token: str) -> Record | None:
        return self.kv.get("access", token_hash(token))

    # -- grants for `late-mcp token` ---------------------------------------------------------------

    def grants(self) -> list[GrantInfo]:
        infos = [
            GrantInfo(
                id=GRANT_CALLER + grant_id,
                application=g["application"],
                user=g["user"],
                profiles=None if g["profiles"] is None else tuple(g["profiles"]),
                read_only=bool(g["read_only"]),
                created_at=g["created_at"],
                last_used=g["last_used"],
                revoked_at=g["revoked_at"],
            )
            for grant_id, g in self.kv.items("grant")
        ]
        return sorted(infos, key=lambda info: info.created_at)

    def revoke_grant(self, grant_id: str, *, quiet: bool = False) -> bool:
        """End a grant (its access and refresh tokens die with it). `grant_id` may carry "oauth:"."""
        grant_id = grant_id.removeprefix(GRANT_CALLER)
        for _ in range(5):
            grant = self.kv.get("grant", grant_id)
            if grant is None or grant["revoked_at"] is not None:
                if quiet:
                    return False
                raise TokenError(f"No active grant {grant_id!r}; `late-mcp token list` shows them.")
            if self.kv.swap("grant", grant_id, grant, {**grant, "revoked_at": self.clock()}):
                return True
        raise TokenError(f"The grant {grant_id!r} kept changing while being revoked; try again.")

    def revoke_token(self, token: str) -> None:
        """Revocation endpoint: an access or refresh token ends its whole grant."""
        for kind in ("access", "refresh"):
            record = self.kv.get(kind, token_hash(token))
            if record is not None:
                self.revoke_grant(record["grant_id"], quiet=True)

    def close(self) -> None:
        self.kv.close()
