"""The 13 platforms Late publishes to, and the media types it accepts."""

from __future__ import annotations

from typing import Literal, get_args

Platform = Literal[
    "twitter",
    "instagram",
    "facebook",
    "linkedin",
    "tiktok",
    "youtube",
    "pinterest",
    "reddit",
    "bluesky",
    "threads",
    "googlebusiness",
    "telegram",
    "snapchat",
]
PLATFORMS: tuple[str, ...] = get_args(Platform)

# Names people and models use for a platform, mapped to Late's own name.
PLATFORM_ALIASES: dict[str, str] = {
    "x": "twitter",
    "twitter/x": "twitter",
    "google business": "googlebusiness",
    "google_business": "googlebusiness",
    "google-business": "googlebusiness",
    "gmb": "googlebusiness",
}


def normalize_platform(name: str) -> str | None:
    """Late's name for `name` (case-insensitive, aliases allowed), or None if it names no platform."""
    key = name.strip().lower()
    key = PLATFORM_ALIASES.get(key, key)
    return key if key in PLATFORMS else None


MediaType = Literal["image", "video", "gif", "document"]

# Content types Late's presign endpoint accepts, with the media type each becomes.
CONTENT_TYPES: dict[str, MediaType] = {
    "image/jpeg": "image",
    "image/jpg": "image",
    "image/png": "image",
    "image/webp": "image",
    "image/gif": "gif",
    "video/mp4": "video",
    "video/mpeg": "video",
    "video/quicktime": "video",
    "video/avi": "video",
    "video/x-msvideo": "video",
    "video/webm": "video",
    "video/x-m4v": "video",
    "application/pdf": "document",
}

EXTENSION_CONTENT_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".webm": "video/webm",
    ".m4v": "video/x-m4v",
    ".pdf": "application/pdf",
}

MAX_UPLOAD_BYTES = 5 * 1024**3


def content_type_for(filename: str) -> str | None:
    """The supported content type for a file name or URL path, judged by its extension."""
    name = filename.lower().split("?", 1)[0].split("#", 1)[0]
    dot = name.rfind(".")
    if dot < 0 or "/" in name[dot:]:
        return None
    return EXTENSION_CONTENT_TYPES.get(name[dot:])


def supported_extensions() -> str:
    return ", ".join(sorted(EXTENSION_CONTENT_TYPES))
