"""Options in Late's wire form: the platformSpecificData of one target in POST /v1/posts."""

from __future__ import annotations

from typing import Any

from late_mcp.rules.options import (
    FacebookOptions,
    InstagramOptions,
    PlatformOptions,
    ThreadOptions,
    TikTokOptions,
)
from late_mcp.rules.parse import checked_options, platform_rules

# content_type values that mean "send no contentType, Late decides from the media".
_IMPLICIT_CONTENT_TYPES = {"feed", "reel"}


def platform_specific_data(
    platform: str, options: PlatformOptions | None, *, text: str
) -> dict[str, Any] | None:
    """Late's platformSpecificData for `options` (camelCase; TikTok's under tiktokSettings).

    `text` is the target's final text: the first of the threadItems when a thread is given.
    None when there is nothing to send."""
    rules = platform_rules(platform)
    if options is None:
        return None
    checked_options(rules.platform, options)
    if isinstance(options, TikTokOptions):
        # Late's guide nests TikTok settings under tiktokSettings with TikTok's own snake_case names.
        settings = options.model_dump(exclude_none=True)
        return {"tiktokSettings": settings} if settings else None
    data = options.model_dump(by_alias=True, exclude_none=True, exclude={"thread"})
    if isinstance(options, InstagramOptions) and options.content_type in _IMPLICIT_CONTENT_TYPES:
        del data["contentType"]
    if isinstance(options, FacebookOptions) and options.content_type == "feed":
        del data["contentType"]
    if isinstance(options, ThreadOptions) and options.thread:
        data["threadItems"] = [{"content": text}, *({"content": item} for item in options.thread)]
    return data or None
