"""The sandbox's stand-in for Late's content validator (`POST /v1/tools/validate/post`).

Deliberately small and independent of late-mcp's own rule table: a few text limits and the
platforms that need media, answered in Late's shape (valid, errors, warnings). X's text is
weighed as X weighs it (twitter-text: links 23, most emoji and CJK 2), like Late's own check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from late_mcp.sandbox.common import Json, bad

TEXT_LIMITS = {"twitter": 280, "bluesky": 300, "threads": 500, "instagram": 2200, "tiktok": 2200}
NEEDS_MEDIA = {"instagram", "tiktok", "youtube", "pinterest", "snapchat"}


def _length(platform: str, text: str) -> int:
    if platform != "twitter":
        return len(text)
    from twitter_text import parse_tweet  # imported on first use: it compiles patterns for ~0.2 s

    return int(parse_tweet(text).weightedLength)


def validate_post(body: Mapping[str, Any]) -> Json:
    platforms = body.get("platforms")
    if not isinstance(platforms, list) or not platforms:
        raise bad("platforms must be a non-empty list")
    content = body.get("content") or ""
    media = body.get("mediaItems") or []
    errors: list[Json] = []
    warnings: list[Json] = []
    for item in platforms:
        platform = item.get("platform") if isinstance(item, dict) else None
        if not isinstance(platform, str):
            raise bad("platforms[].platform is required")
        text = item.get("customContent") or content
        limit = TEXT_LIMITS.get(platform)
        length = _length(platform, text)
        if limit is not None and length > limit:
            errors.append({"platform": platform, "error": f"Content exceeds {limit} characters ({length})"})
        elif limit is not None and length > 0.9 * limit:
            warnings.append({"platform": platform, "warning": f"Content is close to the {limit} limit"})
        if platform in NEEDS_MEDIA and not media:
            errors.append({"platform": platform, "error": f"{platform} requires media"})
    if errors:
        return {"valid": False, "errors": errors, "warnings": warnings}
    return {"valid": True, "message": "No validation issues found.", "warnings": warnings}
