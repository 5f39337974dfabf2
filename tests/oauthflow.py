"""Helpers for the OAuth tests: a person answering the consent page over plain HTTP, the SDK's OAuth
client wired to it, and the raw steps (register, authorize, consent, token) for refusal tests."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from late_mcp.auth.oauth_store import OAuthStore
from oauth_grant import access_token

REDIRECT = "http://127.0.0.1:51999/callback"  # nothing listens: the redirect is caught, not followed
PASSWORD = "correct horse battery"


class FormReader(html.parser.HTMLParser):
    """The consent form's fields: hidden values, and the checkboxes with whether each is ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.checkboxes: list[tuple[str, str, bool]] = []  # (name, value, checked)
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = found.get("action", "")
        if tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found.get("value", "")
        if tag == "input" and found.get("type") == "checkbox":
            self.checkboxes.append((found["name"], found.get("value", ""), "checked" in found))


def read_form(page: str) -> FormReader:
    reader = FormReader()
    reader.feed(page)
    return reader


@dataclass
class Person:
    """Who answers the consent page: a user name, password, the profiles to tick, may write."""

    user: str = "alice"
    password: str = PASSWORD
    profiles: tuple[str, ...] = ()
    may_write: bool = False
    every_profile: bool = False
    seen: list[FormReader] = field(default_factory=list)

    async def answer(self, web: httpx2.AsyncClient, authorization_url: str) -> httpx2.Response:
        """Open the authorization URL (it redirects to the consent page), fill the form, post it;
        the answer is the redirect back to the application (not followed)."""
        page = await web.get(authorization_url, follow_redirects=True)
        assert page.status_code == 200, page.text
        form = read_form(page.text)
        self.seen.append(form)
        fields: list[tuple[str, str]] = [*form.hidden.items(), ("username", self.user)]
        fields += [("password", self.password), ("action", "approve")]
        fields += [("profile", p) for p in self.profiles]
        if self.may_write:
            fields.append(("may_write", "yes"))
        if self.every_profile:
            fields.append(("all_profiles", "yes"))
        base = f"{urlsplit(str(page.url)).scheme}://{urlsplit(str(page.url)).netloc}"
        return await web.post(
            base + form.action,
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )


def code_of(answer: httpx2.Response) -> AuthorizationCodeResult:
    """The code (and state, iss) in the redirect back to the application."""
    assert answer.status_code == 303, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert "code" in query, answer.headers["location"]
    return AuthorizationCodeResult(
        code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
    )


class MemoryStorage:
    """The SDK client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def oauth_client(base: str, person: Person, storage: MemoryStorage | None = None) -> Client:
    """The SDK's MCP client signing in with the SDK's `OAuthClientProvider`; `person` answers the
    consent page over HTTP when the provider sends the browser there."""
    answers: list[AuthorizationCodeResult] = []

    async def redirect_handler(url: str) -> None:
        async with httpx2.AsyncClient(timeout=30) as web:
            answers.append(code_of(await person.answer(web, url)))

    async def callback_handler() -> AuthorizationCodeResult:
        return answers.pop()

    provider = OAuthClientProvider(
        server_url=f"{base}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Test assistant",
            redirect_uris=[REDIRECT],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage or MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    http = httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=300))
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))  # type: ignore[arg-type]


# -- the raw steps, for refusals ---------------------------------------------------------------


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(web: httpx2.AsyncClient, base: str, redirect: str = REDIRECT) -> dict[str, Any]:
    answer = await web.post(
        f"{base}/register",
        json={"client_name": "Raw client", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"},
    )
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


def authorize_url(base: str, client_id: str, challenge: str | None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "resource": f"{base}/mcp",
        **extra,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
        params.setdefault("code_challenge_method", "S256")
    return f"{base}/authorize?{urlencode(params)}"


async def exchange(
    web: httpx2.AsyncClient, base: str, client_id: str, code: str, verifier: str, redirect: str = REDIRECT
) -> httpx2.Response:
    return await web.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": f"{base}/mcp",
        },
    )


async def refresh(web: httpx2.AsyncClient, base: str, client_id: str, token: str) -> httpx2.Response:
    return await web.post(
        f"{base}/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
    )


async def sign_in(web: httpx2.AsyncClient, base: str, person: Person) -> tuple[str, dict[str, Any]]:
    """The whole flow by hand: register, authorize, consent, exchange. Returns the client id and tokens."""
    client = await register(web, base)
    verifier, challenge = pkce()
    code = code_of(await person.answer(web, authorize_url(base, client["client_id"], challenge)))
    tokens = await exchange(web, base, client["client_id"], code.code, verifier)
    assert tokens.status_code == 200, tokens.text
    issued: dict[str, Any] = tokens.json()
    return client["client_id"], issued


def grant_token(store: OAuthStore, base: str, profiles: tuple[str, ...] | None, read_only: bool) -> str:
    """An access token for a grant made in the store as the consent page makes it (for tests of
    what a grant may reach, not of the sign-in itself); bound to the server at `base`."""
    return access_token(store, f"{base}/mcp", profiles=profiles, read_only=read_only)


def add_user(env: dict[str, str], name: str, password: str) -> None:
    """`late-mcp user add NAME --password-stdin` in a real process, as a person would run it."""
    made = subprocess.run(
        [sys.executable, "-m", "late_mcp", "user", "add", name, "--password-stdin"],
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
