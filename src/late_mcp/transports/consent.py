"""The consent page: where a person signs in and chooses what an application may do.

Plain server-rendered HTML (no JavaScript), one form: the application's name and where it will
return (both neutralised: late_mcp.core.outside, then HTML-escaped), the sign-in fields (a user
from `late-mcp user add`, or `admin` with the LATE_MCP_TOKEN), the client profiles from Late as
checkboxes with none ticked, "every profile" and "may write" (both off). Approving makes the grant
(late_mcp.auth.oauth_store) and sends the browser back with the code; denying sends it back with
`access_denied`.

The form carries a CSRF token that must equal the HttpOnly cookie set with the page and the hash
filed with the request, so another site cannot post it. Wrong passwords count against the address
like wrong tokens (late_mcp.transports.http_limits). Users have full access to every profile: any
signed-in user may grant any of them (there is no per-user limit).
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from late_mcp.auth.oauth_store import OAuthStore
from late_mcp.auth.tokens import TokenStoreUnavailable, same_secret, token_hash
from late_mcp.config.http import HttpSettings
from late_mcp.core.outside import quoted, word
from late_mcp.server.build import LateMCPServer
from late_mcp.transports.http_limits import AuthFailures, address_key

CONSENT_PATH = "/consent"
CSRF_COOKIE = "late_mcp_csrf"
ADMIN_USER = "admin"
logger = logging.getLogger("late_mcp.oauth")
HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    # Not no-referrer: with it a browser posts the form with `Origin: null`, which the origin check refuses.
    "referrer-policy": "same-origin",
}
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
    "fieldset{border:1px solid #ccc;margin:1em 0}label{display:block;margin:.3em 0}"
    ".error{color:#a00;font-weight:bold}.note{color:#555}button{font-size:1em;margin-right:1em}"
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


class ConsentPage:
    """GET shows the form for a pending authorization request; POST answers it."""

    def __init__(
        self,
        server: LateMCPServer,
        http: HttpSettings,
        store: OAuthStore,
        failures: AuthFailures,
        *,
        issuer: str,
    ) -> None:
        self.server = server
        self.http = http
        self.store = store
        self.failures = failures
        self.issuer = issuer
        self.secure_cookie = issuer.startswith("https://")

    def routes(self) -> list[Route]:
        return [Route(CONSENT_PATH, self.handle, methods=["GET", "POST"])]

    async def _profiles(self) -> list[tuple[str, str]]:
        """(id, name) of every client profile in Late, through the process's one Late client."""
        context = self.server.shared
        if context is None:
            raise RuntimeError("the server is not started")
        return [(p.id, p.name) for p in await context.client.list_profiles()]

    async def handle(self, request: Request) -> Response:
        try:
            if request.method == "POST":
                return await self._answer(request)
            return await self._show(request)
        except TokenStoreUnavailable as exc:
            logger.warning("%s The consent page is refused until it answers.", exc)
            return self._message(503, "The sign-in store cannot be asked right now; try again shortly.")

    async def _show(self, request: Request) -> Response:
        request_id = request.query_params.get("request", "")
        pending = await anyio.to_thread.run_sync(self.store.load_request, request_id)
        if pending is None:
            return self._expired()
        csrf = secrets.token_urlsafe(32)
        pending["csrf"] = token_hash(csrf)
        await anyio.to_thread.run_sync(self.store.update_request, request_id, pending)
        return await self._form(request_id, pending, csrf)

    async def _form(
        self,
        request_id: str,
        pending: dict[str, Any],
        csrf: str,
        *,
        error: str | None = None,
        status: int = 200,
        user: str = "",
    ) -> Response:
        try:
            profiles = await self._profiles()
        except Exception as exc:
            logger.warning("The consent page could not list the profiles (%s).", type(exc).__name__)
            return self._message(503, "The client profiles cannot be listed right now; try again shortly.")
        application = quoted(str(pending["client_name"]), 80)
        back_to = word(urlsplit(pending["redirect_uri"]).netloc or pending["redirect_uri"])
        boxes = "\n".join(
            f'<label><input type="checkbox" name="profile" value="{_e(pid)}"> '
            f"{_e(quoted(name or pid, 80))} <span class=note>({_e(word(pid))})</span></label>"
            for pid, name in profiles
        )
        problem = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allow access to late-mcp?</title>
<style>{STYLE}</style></head><body>
<h1>Allow <span id="application">{_e(application)}</span> to use late-mcp?</h1>
<p>The application <strong>{_e(application)}</strong> asks to reach the Late social-media accounts
this server manages. After you approve, your browser returns to
<strong id="redirect-host">{_e(back_to)}</strong>.
Only approve if you started this from that application.</p>
{problem}
<form method="post" action="{CONSENT_PATH}">
<input type="hidden" name="request" value="{_e(request_id)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<fieldset><legend>Sign in</legend>
<label>User name <input name="username" autocomplete="username" value="{_e(user)}" required></label>
<label>Password
<input name="password" type="password" autocomplete="current-password" required></label>
<p class="note">A user made with <code>late-mcp user add</code>, or <code>admin</code> with the
server's LATE_MCP_TOKEN.</p>
</fieldset>
<fieldset id="profiles"><legend>Client profiles it may touch</legend>
<p>Tick each client whose accounts, posts, media and comments it may see. It cannot see the others.</p>
{boxes}
<label><input type="checkbox" name="all_profiles" value="yes">
Every profile, including ones added later</label>
</fieldset>
<fieldset><legend>Writing</legend>
<label><input type="checkbox" name="may_write" value="yes"> May write: create, schedule, publish,
change and delete posts, upload media, reply to and delete comments, and change profiles and
accounts of the ticked clients</label>
<p class="note">Left unticked, it may only read.</p>
</fieldset>
<p><button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></p>
<p class="note">You can end this access at any time: <code>late-mcp token revoke</code> with the id
<code>late-mcp token list</code> shows.</p>
</form></body></html>"""
        response = HTMLResponse(page, status_code=status, headers=HEADERS)
        response.set_cookie(
            CSRF_COOKIE, csrf, path=CONSENT_PATH, httponly=True, samesite="lax", secure=self.secure_cookie
        )
        return response

    def _message(self, status: int, text: str) -> Response:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>late-mcp sign-in</title>'
            f'<style>{STYLE}</style></head><body><h1>late-mcp sign-in</h1><p class="error" role="alert">'
            f"{_e(text)}</p></body></html>"
        )
        return HTMLResponse(page, status_code=status, headers=HEADERS)

    def _expired(self) -> Response:
        return self._message(
            400,
            "This sign-in link has expired or was already used. Start again from the application "
            "(connect it again).",
        )

    async def _answer(self, request: Request) -> Response:
        form = await request.form()
        request_id = str(form.get("request", ""))
        csrf = str(form.get("csrf", ""))
        pending = await anyio.to_thread.run_sync(self.store.load_request, request_id)
        if pending is None:
            return self._expired()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        filed = str(pending.get("csrf", ""))
        if not (csrf and hmac.compare_digest(csrf, cookie) and hmac.compare_digest(token_hash(csrf), filed)):
            return self._message(
                403,
                "This form did not come from this sign-in page (CSRF check failed). Reload the page "
                "from the application and submit it again.",
            )
        if form.get("action") == "deny":
            await anyio.to_thread.run_sync(self.store.take_request, request_id)
            return self._back(pending, error="access_denied")
        user = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        signed_in = await self._sign_in(request, user, password)
        if isinstance(signed_in, Response):
            return signed_in
        if not signed_in:
            return await self._form(
                request_id, pending, csrf, error="The user name or password is wrong.", status=401, user=user
            )
        known = {pid for pid, _ in await self._profiles()}
        ticked = tuple(str(v) for v in form.getlist("profile"))
        everything = form.get("all_profiles") == "yes"
        unknown = sorted(set(ticked) - known)
        if unknown or not (ticked or everything):
            error = (
                f"Unknown profile {unknown[0]!r}; tick profiles from the list."
                if unknown
                else "Tick at least one client profile (or every profile) to approve, or deny."
            )
            return await self._form(request_id, pending, csrf, error=error, status=400, user=user)
        taken = await anyio.to_thread.run_sync(self.store.take_request, request_id)
        if taken is None:
            return self._expired()
        code = await anyio.to_thread.run_sync(
            lambda: self.store.approve(
                taken,
                user=user,
                profiles=None if everything else ticked,
                read_only=form.get("may_write") != "yes",
            )
        )
        return self._back(taken, code=code)

    async def _sign_in(self, request: Request, user: str, password: str) -> bool | Response:
        """Whether the user name and password are right, or the 429 for too many wrong ones."""
        address = address_key(request.scope.get("client"))
        admitted = self.failures.admit(address, token_hash(f"{user}\0{password}"))
        if isinstance(admitted, float):
            return self._message(
                429, f"Too many wrong passwords from this address; try again in {int(admitted) + 1} s."
            )
        ok = False
        try:
            token = self.http.token
            if user == ADMIN_USER and token is not None and same_secret(password, token):
                ok = True
            else:
                ok = await anyio.to_thread.run_sync(self.store.check_user, user, password)
            return ok
        finally:
            self.failures.settle(admitted, ok)

    def _back(self, pending: dict[str, Any], **answer: str) -> Response:
        target = construct_redirect_uri(
            pending["redirect_uri"], state=pending.get("state"), iss=self.issuer, **answer
        )
        return RedirectResponse(target, status_code=303, headers={"cache-control": "no-store"})
