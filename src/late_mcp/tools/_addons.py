"""Late add-ons: a plan without one gets an error that names it and says what still works."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from late_mcp.late.errors import LateAPIError

T = TypeVar("T")
ADDON_STATUSES = frozenset({402, 403})


def addon_hint(addon: str, needs: str) -> str:
    return (
        f"This Late plan lacks the {addon} add-on, which {needs} need. Add it in Late's dashboard "
        "(https://getlate.dev/dashboard, Billing), then try again; posting and queue tools work without it."
    )


async def needing_addon(call: Awaitable[T], addon: str, needs: str) -> T:
    """Await `call`; a refusal that names an add-on gets a hint naming it."""
    try:
        return await call
    except LateAPIError as exc:
        said = (exc.api_message or "").lower().replace("-", "")
        if exc.status in ADDON_STATUSES and "addon" in said:
            raise exc.with_context(
                message=f"Late refused: the {addon} add-on is required.", hint=addon_hint(addon, needs)
            ) from exc
        raise
