"""Per-platform post options: what a caller may set for one platform, checked strictly.

Keys are snake_case; Late's own camelCase names are accepted too. Late's names for the wire form come
from the aliases (see platform_data.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

URL_PATTERN = r"^https?://\S+$"
Url = Annotated[str, Field(pattern=URL_PATTERN, max_length=2048)]


class OptionsModel(BaseModel):
    """Strict, frozen, snake_case with camelCase aliases; unknown keys are refused. Built on first
    use (a post with options for that platform), not at import."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        populate_by_name=True,
        alias_generator=to_camel,
        loc_by_alias=False,  # errors name fields in snake_case
        strict=True,
        frozen=True,
    )


class PlatformOptions(OptionsModel):
    """Base class of the per-platform option models."""


# --- X, Threads, Bluesky


class ThreadOptions(PlatformOptions):
    thread: list[str] | None = Field(
        default=None, description="Follow-up posts; the main text is the first post."
    )


class TwitterOptions(ThreadOptions):
    reply_settings: Literal["following", "mentionedUsers", "subscribers"] | None = Field(
        default=None, description="Who may reply (default everyone)."
    )


class ThreadsOptions(ThreadOptions):
    pass


class BlueskyOptions(ThreadOptions):
    pass


# --- Meta


class UserTag(OptionsModel):
    username: str = Field(max_length=64)
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    media_index: int | None = Field(default=None, ge=0)


class TrialParams(OptionsModel):
    graduation_strategy: Literal["MANUAL", "SS_PERFORMANCE"]


class InstagramOptions(PlatformOptions):
    content_type: Literal["feed", "story", "reel"] | None = Field(
        default=None, description="feed and reel: Late picks from the media."
    )
    share_to_feed: bool | None = Field(default=None, description="Reels only.")
    collaborators: list[str] | None = Field(default=None, max_length=3, description="Usernames.")
    first_comment: str | None = None
    user_tags: list[UserTag] | None = Field(
        default=None, description="[{username, x, y (0-1), media_index}], images only."
    )
    trial_params: TrialParams | None = Field(
        default=None, description="{graduation_strategy: MANUAL|SS_PERFORMANCE}, reels only."
    )
    audio_name: str | None = Field(default=None, description="Reels only; set once.")
    thumb_offset: int | None = Field(default=None, ge=0, description="Reel cover frame, ms.")


class FacebookOptions(PlatformOptions):
    content_type: Literal["feed", "story", "reel"] | None = None
    title: str | None = Field(default=None, description="Reels only.")
    first_comment: str | None = Field(default=None, description="Feed posts only.")
    page_id: str | None = Field(default=None, description="Default page if omitted.")


# --- others


class LinkedInOptions(PlatformOptions):
    first_comment: str | None = None
    disable_link_preview: bool | None = None
    document_title: str | None = Field(default=None, description="PDF posts.")
    organization_urn: str | None = Field(default=None, description="Default organization if omitted.")


class TikTokOptions(PlatformOptions):
    privacy_level: str | None = Field(default=None, max_length=64)
    allow_comment: bool | None = None
    allow_duet: bool | None = Field(default=None, description="Videos.")
    allow_stitch: bool | None = Field(default=None, description="Videos.")
    content_preview_confirmed: bool | None = Field(default=None, description="Must be true.")
    express_consent_given: bool | None = Field(default=None, description="Must be true.")
    draft: bool | None = Field(default=None, description="To the Creator Inbox.")
    description: str | None = Field(default=None, max_length=4000, description="Photo posts.")
    video_cover_timestamp_ms: int | None = Field(default=None, ge=0)
    photo_cover_index: int | None = Field(default=None, ge=0)
    auto_add_music: bool | None = Field(default=None, description="Photos.")
    video_made_with_ai: bool | None = None
    commercial_content_type: Literal["none", "brand_organic", "brand_content"] | None = None
    brand_partner_promote: bool | None = None
    is_brand_organic_post: bool | None = None
    media_type: Literal["video", "photo"] | None = Field(default=None, description="Default: from media.")


YOUTUBE_TAGS_TOTAL = 500


class YouTubeOptions(PlatformOptions):
    title: str | None = Field(default=None, max_length=100)
    visibility: Literal["public", "private", "unlisted"] | None = None
    first_comment: str | None = Field(default=None, max_length=10000)
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, description="Each up to 100, together up to 500 characters."
    )
    made_for_kids: bool | None = None
    contains_synthetic_media: bool | None = None
    category_id: str | None = Field(default=None, max_length=8, description="Default 22.")

    @model_validator(mode="after")
    def _tags_fit(self) -> YouTubeOptions:
        total = sum(len(tag) for tag in dict.fromkeys(self.tags or ()))
        if total > YOUTUBE_TAGS_TOTAL:
            raise ValueError(f"tags together are {total} characters; YouTube allows {YOUTUBE_TAGS_TOTAL}")
        return self


class PinterestOptions(PlatformOptions):
    title: str | None = Field(default=None, max_length=100)
    board_id: str | None = Field(default=None, description="First board if omitted.")
    link: Url | None = None
    cover_image_url: Url | None = Field(default=None, description="Video pins.")
    cover_image_key_frame_time: int | None = Field(default=None, ge=0, description="Seconds.")


class RedditOptions(PlatformOptions):
    subreddit: str | None = Field(default=None, max_length=64, description="Without r/.")
    title: str | None = Field(default=None, max_length=300)
    url: Url | None = Field(default=None, description="Makes a link post.")
    force_self: bool | None = None
    flair_id: str | None = None


class CallToAction(OptionsModel):
    type: Literal["LEARN_MORE", "BOOK", "ORDER", "SHOP", "SIGN_UP", "CALL"]
    url: Url


class GoogleBusinessOptions(PlatformOptions):
    call_to_action: CallToAction | None = Field(
        default=None, description="{type: LEARN_MORE|BOOK|ORDER|SHOP|SIGN_UP|CALL, url}."
    )
    location_id: str | None = None
    language_code: str | None = Field(default=None, max_length=35)


class TelegramOptions(PlatformOptions):
    parse_mode: Literal["HTML", "Markdown", "MarkdownV2"] | None = None
    disable_web_page_preview: bool | None = None
    disable_notification: bool | None = None
    protect_content: bool | None = None


class SnapchatOptions(PlatformOptions):
    content_type: Literal["story", "saved_story", "spotlight"] | None = None


OPTION_MODELS: dict[str, type[PlatformOptions]] = {
    "twitter": TwitterOptions,
    "instagram": InstagramOptions,
    "facebook": FacebookOptions,
    "linkedin": LinkedInOptions,
    "tiktok": TikTokOptions,
    "youtube": YouTubeOptions,
    "pinterest": PinterestOptions,
    "reddit": RedditOptions,
    "bluesky": BlueskyOptions,
    "threads": ThreadsOptions,
    "googlebusiness": GoogleBusinessOptions,
    "telegram": TelegramOptions,
    "snapchat": SnapchatOptions,
}
