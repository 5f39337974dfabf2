"""An OAuth access token without the browser: a grant recorded as the consent page records it, and
its code exchanged, for the load benchmark and the tests of what a grant may reach (not shipped).

    from oauth_grant import access_token
"""

from __future__ import annotations

import secrets

from late_mcp.auth.oauth_store import OAuthStore


def access_token(
    store: OAuthStore,
    resource: str,
    *,
    user: str = "alice",
    profiles: tuple[str, ...] | None = None,
    read_only: bool = False,
    application: str = "Test assistant",
) -> str:
    """An access token for a grant to `user`'s application, bound to `resource` (`<base>/mcp`)."""
    request = {
        "client_id": application.lower().replace(" ", "-"),
        "client_name": application,
        "redirect_uri": "http://127.0.0.1/callback",
        "explicit": True,
        "code_challenge": secrets.token_urlsafe(32),
        "state": None,
        "scopes": [],
        "resource": resource,
    }
    code = store.approve(request, user=user, profiles=profiles, read_only=read_only)
    token: str = store.use_code(code)["access_token"]
    return token
