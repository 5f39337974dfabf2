"""late-mcp as the OAuth 2.1 authorization server for its own HTTP transport, on the SDK's auth support.

The SDK (`mcp.server.auth`) serves the endpoints: authorization server metadata (RFC 8414),
protected resource metadata (RFC 9728), /authorize, /token, /register (dynamic client
registration) and /revoke, and checks what it can (PKCE S256 only, `plain` refused; the code's
redirect URI; expiry). `LateOAuthProvider` is the SDK's provider protocol over the OAuth store
(late_mcp.auth.oauth_store): it adds the rest of the rules:

- redirect URIs: exact, except a loopback one (127.0.0.1, ::1, localhost) on any port; anything
  that is not loopback must be https (at registration and for a client metadata document);
- Client ID Metadata Documents: a client_id that is an https URL is fetched (at most
  MAX_DOCUMENT bytes within DOCUMENT_SECONDS, no redirects; http on loopback only while this
  server itself is on loopback), must name itself, and is cached for DOCUMENT_CACHE_SECONDS;
- every token is bound to this server's resource (LATE_MCP_PUBLIC_URL + /mcp): an authorization
  request for another resource is refused, and the guard refuses a token issued for another;
- /authorize sends the person to the consent page (late_mcp.transports.consent), where the
  grant is made.

The guard (late_mcp.transports.http_app) hands the OAuth paths to `OAuthFront.app` without
authentication and checks access tokens itself, through the same path as every other token.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.server.auth.routes import (
    build_metadata,
    build_resource_metadata_url,
    cors_middleware,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl, ValidationError
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from late_mcp.auth.oauth_store import OAuthRefusal, OAuthStore
from late_mcp.auth.principal import Principal
from late_mcp.auth.tokens import TokenStoreUnavailable, token_hash
from late_mcp.config.http import HttpSettings, base_url, is_loopback
from late_mcp.server.build import LateMCPServer
from late_mcp.transports.consent import CONSENT_PATH, ConsentPage
from late_mcp.transports.http_limits import AuthFailures

METADATA_PATH = "/.well-known/oauth-authorization-server"
MAX_DOCUMENT = 64 * 1024
DOCUMENT_SECONDS = 5.0
DOCUMENT_CACHE_SECONDS = 300.0
logger = logging.getLogger("late_mcp.oauth")


def _loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return is_loopback(host)


def redirect_problem(uri: str) -> str | None:
    """Why a redirect URI cannot be registered (None: it can): https, or http on loopback."""
    parts = urlsplit(uri)
    if parts.fragment:
        return f"redirect URI {uri} has a fragment; redirect URIs may not"
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback_url(uri)):
        return None
    return f"redirect URI {uri} must be https (or http on a loopback address such as 127.0.0.1)"


class LoopbackClient(OAuthClientInformationFull):
    """A registered client whose loopback redirect URIs match on any port (RFC 8252 §7.3), and
    which may ask for any scope: scopes decide nothing here (the consent page does), so a client
    that asks for some is not turned away for it."""

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        return None if requested_scope is None else requested_scope.split()

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and self.redirect_uris and redirect_uri not in self.redirect_uris:
            given = urlsplit(str(redirect_uri))
            for registered in map(str, self.redirect_uris):
                known = urlsplit(registered)
                if _loopback_url(registered) and (given.scheme, given.hostname, given.path, given.query) == (
                    known.scheme,
                    known.hostname,
                    known.path,
                    known.query,
                ):
                    return redirect_uri
        return super().validate_redirect_uri(redirect_uri)


def _token(issued: dict[str, Any]) -> OAuthToken:
    return OAuthToken(
        access_token=issued["access_token"],
        token_type="Bearer",
        expires_in=issued["expires_in"],
        refresh_token=issued["refresh_token"],
    )


class LateOAuthProvider:
    """The SDK's `OAuthAuthorizationServerProvider` over the OAuth store (see the module docstring)."""

    def __init__(self, store: OAuthStore, base: str, resource: str, *, loopback_documents: bool) -> None:
        self.store = store
        self.base = base
        self.resource = resource
        self.loopback_documents = loopback_documents
        self._documents: dict[str, tuple[float, LoopbackClient]] = {}

    async def _run(self, function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(function, *args)

    # -- clients ---------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """A registered client; its secret, kept only as a hash, is the one this request presented
        when that one matches the hash (so the SDK's own comparison passes), else a random one."""
        if client_id.startswith(("https://", "http://")):
            return await self._document_client(client_id)
        record = await self._run(self.store.load_client, client_id)
        if record is None:
            return None
        digest = record.pop("client_secret_hash", None)
        if digest is not None:
            presented = presented_secrets.get().get(client_id)
            matches = presented is not None and hmac.compare_digest(token_hash(presented), digest)
            record["client_secret"] = presented if matches else secrets.token_hex(32)
        return LoopbackClient.model_validate(record)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        for uri in client_info.redirect_uris or []:
            problem = redirect_problem(str(uri))
            if problem is not None:
                raise RegistrationError("invalid_redirect_uri", problem)
        record = client_info.model_dump(mode="json")
        secret = record.pop("client_secret", None)
        if secret is not None:
            record["client_secret_hash"] = token_hash(secret)
        await self._run(self.store.save_client, client_info.client_id, record)

    async def _document_client(self, url: str) -> LoopbackClient | None:
        """The client a Client ID Metadata Document describes, or None (the reason is logged)."""
        cached = self._documents.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        parts = urlsplit(url)
        loopback_ok = self.loopback_documents and parts.scheme == "http" and _loopback_url(url)
        if (parts.scheme != "https" and not loopback_ok) or parts.path in {"", "/"}:
            logger.warning("Client ID %s refused: a client metadata document URL is https with a path.", url)
            return None
        try:
            document = await self._fetch_document(url)
            redirects = document.get("redirect_uris") or []
            if document.get("client_id") != url:
                raise ValueError("its client_id is not the URL it was fetched from")
            problems = [p for p in map(redirect_problem, map(str, redirects)) if p]
            if not redirects or problems:
                raise ValueError(problems[0] if problems else "it lists no redirect_uris")
            client = LoopbackClient.model_validate(
                {
                    **{
                        k: v
                        for k, v in document.items()
                        if k not in {"client_secret", "client_secret_expires_at"}
                    },
                    "client_id": url,
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                }
            )
        except (ValueError, ValidationError, OSError) as exc:
            logger.warning("Client metadata document %s refused: %s", url, exc)
            return None
        self._documents[url] = (time.monotonic() + DOCUMENT_CACHE_SECONDS, client)
        return client

    async def _fetch_document(self, url: str) -> dict[str, Any]:
        import httpx2

        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(DOCUMENT_SECONDS):
                async with (
                    httpx2.AsyncClient(follow_redirects=False, timeout=DOCUMENT_SECONDS) as http,
                    http.stream("GET", url, headers={"accept": "application/json"}) as answer,
                ):
                    if answer.status_code != 200:
                        raise ValueError(f"it answered HTTP {answer.status_code}")
                    async for chunk in answer.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_DOCUMENT:
                            raise ValueError(f"it is larger than {MAX_DOCUMENT} bytes")
                        chunks.append(chunk)
        except TimeoutError as exc:
            raise ValueError(f"it did not arrive within {DOCUMENT_SECONDS:g} s") from exc
        except httpx2.HTTPError as exc:
            raise ValueError(f"it could not be fetched ({type(exc).__name__})") from exc
        document = json.loads(b"".join(chunks))
        if not isinstance(document, dict):
            raise ValueError("it is not a JSON object")
        return document

    # -- authorization ---------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self.resource.rstrip("/"):
            raise AuthorizeError(
                "invalid_target",
                f"resource {params.resource} is not this server; ask for {self.resource}",
            )
        request = {
            "client_id": client.client_id,
            "client_name": client.client_name or client.client_id,
            "redirect_uri": str(params.redirect_uri),
            "explicit": params.redirect_uri_provided_explicitly,
            "code_challenge": params.code_challenge,
            "state": params.state,
            "scopes": params.scopes or [],
            "resource": self.resource,
        }
        request_id = await self._run(self.store.new_request, request)
        return f"{self.base}{CONSENT_PATH}?request={request_id}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        record = await self._run(self.store.load_code, authorization_code)
        if record is None:
            return None
        return AuthorizationCode(
            code=authorization_code,
            scopes=record["scopes"],
            expires_at=record["expires_at"],
            client_id=record["client_id"],
            code_challenge=record["code_challenge"],
            redirect_uri=AnyUrl(record["redirect_uri"]),
            redirect_uri_provided_explicitly=record["explicit"],
            resource=record["resource"],
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        try:
            return _token(await self._run(self.store.use_code, authorization_code.code))
        except OAuthRefusal as exc:
            raise TokenError("invalid_grant", exc.message) from exc

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        record = await self._run(self.store.load_refresh, refresh_token)
        if record is None:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=record["client_id"],
            scopes=record.get("scopes", []),
            expires_at=record["expires_at"],
            resource=record["resource"],
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        try:
            return _token(await self._run(self.store.rotate, refresh_token.token))
        except OAuthRefusal as exc:
            raise TokenError("invalid_grant", exc.message) from exc

    async def load_access_token(self, token: str) -> AccessToken | None:
        record = await self._run(self.store.access_record, token)
        if record is None:
            return None
        return AccessToken(
            token=token,
            client_id=record["client_id"],
            scopes=[],
            expires_at=record["expires_at"],
            resource=record["resource"],
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        await self._run(self.store.revoke_token, token.token)

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: Any
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "this server does not accept identity assertions")


# The client secrets a token or revocation request presents (client_id -> secret), for get_client.
presented_secrets: ContextVar[dict[str, str]] = ContextVar("late_mcp_client_secrets", default={})  # noqa: B039


def client_secrets(body: bytes, authorization: bytes | None) -> dict[str, str]:
    """The client secrets a request presents: client_secret_post (the form) and client_secret_basic."""
    found: dict[str, str] = {}
    form = parse_qs(body.decode("utf-8", "replace"))
    if form.get("client_id") and form.get("client_secret"):
        found[form["client_id"][0]] = form["client_secret"][0]
    kind, _, encoded = (authorization or b"").decode("latin-1").partition(" ")
    if kind.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return found
        found[unquote(client_id)] = unquote(secret)
    return found


class QueryOfOAuthPaths(logging.Filter):
    """Drop the query of OAuth paths from uvicorn's access log: the consent page's carries the
    pending request's id, which must not outlive it in a log."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, asked, _ = args[2].partition("?")
            if asked and path in self.paths:
                record.args = (*args[:2], f"{path}?[query removed]", *args[3:])
        return True


ACCESS_LOG_FILTER = QueryOfOAuthPaths()


@dataclass
class OAuthFront:
    """The OAuth endpoints (an ASGI app), the paths they answer, and what a 401 names."""

    store: OAuthStore
    resource: str
    app: Any
    paths: frozenset[str]
    resource_metadata: str

    async def lookup(self, token: str) -> Principal | str | None:
        """The caller an access token stands for, a refusal reason (str), or None (not one of ours).
        Raises TokenStoreUnavailable when the store cannot be asked."""
        found: Principal | str | None = await anyio.to_thread.run_sync(
            self.store.lookup_access, token, self.resource
        )
        return found

    def in_use(self) -> bool:
        try:
            return self.store.in_use()
        except TokenStoreUnavailable:
            return True


def build_oauth(
    server: LateMCPServer, http: HttpSettings, store: OAuthStore, failures: AuthFailures
) -> OAuthFront:
    """The authorization server and protected-resource endpoints for this server's public URL."""
    base = base_url(http)
    resource = f"{base}/mcp"
    # The SDK's settings keep a path-less issuer as given (no trailing slash, RFC 8414 compares exactly).
    settings = AuthSettings(issuer_url=base, resource_server_url=resource, validate_token_resource=True)
    issuer = settings.issuer_url
    provider = LateOAuthProvider(store, base, resource, loopback_documents=_loopback_url(base))
    registration = ClientRegistrationOptions(enabled=True)
    revocation = RevocationOptions(enabled=True)
    routes: list[BaseRoute] = [
        route
        for route in create_auth_routes(provider, issuer, None, registration, revocation)
        if not (isinstance(route, Route) and route.path == METADATA_PATH)
    ]
    metadata = build_metadata(issuer, None, registration, revocation)
    metadata.client_id_metadata_document_supported = True
    metadata.authorization_response_iss_parameter_supported = True
    routes.append(
        Route(
            METADATA_PATH,
            cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        )
    )
    assert settings.resource_server_url is not None
    routes += create_protected_resource_routes(
        settings.resource_server_url, [issuer], resource_name="late-mcp"
    )
    consent = ConsentPage(server, http, store, failures, issuer=str(metadata.issuer))
    routes += consent.routes()
    paths = frozenset(route.path for route in routes if isinstance(route, Route))
    ACCESS_LOG_FILTER.paths |= paths
    access_log = logging.getLogger("uvicorn.access")
    if ACCESS_LOG_FILTER not in access_log.filters:
        access_log.addFilter(ACCESS_LOG_FILTER)
    metadata_url = str(build_resource_metadata_url(settings.resource_server_url))
    return OAuthFront(store, resource, Starlette(routes=routes), paths, metadata_url)
