"""Pydantic models of what the Late API sends back.

They accept what the real API sends: `_id` ids, extra fields (ignored), and references that may
arrive either as an id string or as a populated object (`platforms[].accountId`, an account's
`profileId`, an invite's `profileId`). Field names are snake_case; aliases carry Late's names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field, model_validator

from late_mcp.core.outside import quoted, word


def parse_timestamp(value: str | None) -> datetime | None:
    """A timestamp as Late sends it ("...Z" or with offset) as an aware datetime; None if unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LateModel(BaseModel):
    """Built on first use, not at import: a session parses only the answers of the tools it calls."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


def _split_reference(data: Any, key: str, object_key: str) -> Any:
    """Turn `{key: {...populated...}}` into `{key: "<id>", object_key: {...}}`; leave ids alone."""
    if isinstance(data, dict):
        value = data.get(key)
        if isinstance(value, dict):
            data = {**data, key: value.get("_id") or value.get("id"), object_key: value}
    return data


class ProfileRef(LateModel):
    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    name: str | None = None


class Profile(LateModel):
    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    name: str = ""
    description: str | None = None
    color: str | None = None
    is_default: bool = Field(False, validation_alias=AliasChoices("isDefault", "is_default"))
    created_at: str | None = Field(None, validation_alias=AliasChoices("createdAt", "created_at"))


class Account(LateModel):
    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    platform: str
    profile_id: str | None = Field(None, validation_alias=AliasChoices("profileId", "profile_id"))
    profile: ProfileRef | None = Field(None, exclude=True)
    username: str | None = None
    display_name: str | None = Field(None, validation_alias=AliasChoices("displayName", "display_name"))
    profile_url: str | None = Field(None, validation_alias=AliasChoices("profileUrl", "profile_url"))
    is_active: bool = Field(True, validation_alias=AliasChoices("isActive", "is_active"))

    @model_validator(mode="before")
    @classmethod
    def _populated_profile(cls, data: Any) -> Any:
        return _split_reference(data, "profileId", "profile")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def profile_name(self) -> str | None:
        """The client the account belongs to, when Late sent the profile along."""
        return self.profile.name if self.profile else None

    def label(self) -> str:
        """`twitter @acme`: how a person recognises the account (its display name without a handle).
        The owner chose the handle and name: they are quoted when they are more than a plain word."""
        if self.username:
            return f"{word(self.platform)} @{word(self.username.lstrip('@'))}"
        return f"{word(self.platform)} {quoted(self.display_name) if self.display_name else '?'}"


class AccountRef(LateModel):
    """A populated `accountId` inside a post."""

    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    platform: str | None = None
    username: str | None = None
    display_name: str | None = Field(None, validation_alias=AliasChoices("displayName", "display_name"))


class MediaItem(LateModel):
    type: str | None = None
    url: str


class PostTarget(LateModel):
    platform: str
    account_id: str | None = Field(None, validation_alias=AliasChoices("accountId", "account_id"))
    account: AccountRef | None = None
    custom_content: str | None = Field(None, validation_alias="customContent")
    # threadItems, firstComment, title and the platform's settings, as Late keeps them.
    platform_specific_data: dict[str, Any] | None = Field(None, validation_alias="platformSpecificData")
    status: str | None = None
    platform_post_id: str | None = Field(None, validation_alias="platformPostId")
    platform_post_url: str | None = Field(None, validation_alias="platformPostUrl")
    published_at: str | None = Field(None, validation_alias="publishedAt")
    scheduled_for: str | None = Field(None, validation_alias="scheduledFor")
    error_message: str | None = Field(None, validation_alias="errorMessage")
    error_category: str | None = Field(None, validation_alias="errorCategory")

    @model_validator(mode="before")
    @classmethod
    def _populated_account(cls, data: Any) -> Any:
        return _split_reference(data, "accountId", "account")


class Post(LateModel):
    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    title: str | None = None
    content: str | None = None
    status: str | None = None
    media_items: list[MediaItem] = Field(default_factory=list, validation_alias="mediaItems")
    platforms: list[PostTarget] = Field(default_factory=list)
    scheduled_for: str | None = Field(None, validation_alias="scheduledFor")
    timezone: str | None = None
    published_at: str | None = Field(None, validation_alias="publishedAt")
    queued_from_profile: str | None = Field(None, validation_alias="queuedFromProfile")
    created_at: str | None = Field(None, validation_alias="createdAt")
    updated_at: str | None = Field(None, validation_alias="updatedAt")


class Pagination(LateModel):
    page: int = 1
    limit: int = 10
    total: int = 0
    pages: int = 0


class PostPage(LateModel):
    posts: list[Post]
    # None when Late's counts were left out (they would count posts the caller may not see).
    pagination: Pagination | None = None


class Invite(LateModel):
    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    platform: str
    profile_id: str | None = Field(None, validation_alias="profileId")
    profile: ProfileRef | None = None
    invite_url: str | None = Field(None, validation_alias="inviteUrl")
    expires_at: str | None = Field(None, validation_alias="expiresAt")
    is_used: bool = Field(False, validation_alias="isUsed")
    created_at: str | None = Field(None, validation_alias="createdAt")

    @model_validator(mode="before")
    @classmethod
    def _populated_profile(cls, data: Any) -> Any:
        return _split_reference(data, "profileId", "profile")


class ConnectLink(LateModel):
    auth_url: str = Field(validation_alias="authUrl")


class TelegramCode(LateModel):
    """Telegram connects with an access code sent to Late's bot, not with an OAuth page."""

    code: str
    bot_username: str | None = Field(None, validation_alias="botUsername")
    expires_at: str | None = Field(None, validation_alias="expiresAt")
    instructions: list[str] = Field(default_factory=list)


class AccountHealth(LateModel):
    account_id: str = Field(validation_alias="accountId")
    platform: str | None = None
    username: str | None = None
    profile_id: str | None = Field(None, validation_alias="profileId")
    status: str | None = None
    can_post: bool | None = Field(None, validation_alias="canPost")
    token_valid: bool | None = Field(None, validation_alias="tokenValid")
    token_expires_at: str | None = Field(None, validation_alias="tokenExpiresAt")
    needs_reconnect: bool | None = Field(None, validation_alias="needsReconnect")
    issues: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _profile_id(cls, data: Any) -> Any:
        """`profileId` as an id, also when Late sends the profile populated."""
        return _split_reference(data, "profileId", "profile")


class HealthSummary(LateModel):
    total: int = 0
    healthy: int = 0
    warning: int = 0
    error: int = 0
    needs_reconnect: int = Field(0, validation_alias="needsReconnect")


class HealthReport(LateModel):
    summary: HealthSummary = Field(default_factory=lambda: HealthSummary())
    accounts: list[AccountHealth] = Field(default_factory=list)


class PresignedUpload(LateModel):
    upload_url: str = Field(validation_alias="uploadUrl")
    public_url: str = Field(validation_alias="publicUrl")
    key: str | None = None
    type: str | None = None


class UploadedFile(LateModel):
    """A file a person uploaded through Late's browser upload page."""

    url: str
    filename: str | None = None
    type: str | None = None
    size: int | None = None
    mime_type: str | None = Field(None, validation_alias=AliasChoices("mimeType", "mime_type"))


class UploadToken(LateModel):
    """`POST /v1/media/upload-token`: the page a person opens to upload files, and its token."""

    token: str
    upload_url: str = Field(validation_alias=AliasChoices("uploadUrl", "upload_url"))
    expires_at: str | None = Field(None, validation_alias=AliasChoices("expiresAt", "expires_at"))


class UploadTokenStatus(LateModel):
    """`GET /v1/media/upload-token?token=...`: pending, completed (with the files) or expired."""

    status: str
    files: list[UploadedFile] = []
    expires_at: str | None = Field(None, validation_alias=AliasChoices("expiresAt", "expires_at"))


class QueueSlot(LateModel):
    profile_id: str | None = Field(None, validation_alias="profileId")
    next_slot: str = Field(validation_alias="nextSlot")
    timezone: str | None = None
    queue_id: str | None = Field(None, validation_alias="queueId")
    queue_name: str | None = Field(None, validation_alias="queueName")


class UsageCounts(LateModel):
    uploads: int | None = None
    profiles: int | None = None
    last_reset: str | None = Field(None, validation_alias="lastReset")


class UsageStats(LateModel):
    plan_name: str | None = Field(None, validation_alias="planName")
    billing_period: str | None = Field(None, validation_alias="billingPeriod")
    limits: UsageCounts = Field(default_factory=lambda: UsageCounts())
    usage: UsageCounts = Field(default_factory=lambda: UsageCounts())


class QueueDay(LateModel):
    """One weekly slot: Late counts days 0 = Sunday ... 6 = Saturday; time is "HH:MM" in the queue's zone."""

    day_of_week: int = Field(validation_alias=AliasChoices("dayOfWeek", "day_of_week"))
    time: str


class QueueSchedule(LateModel):
    id: str | None = Field(None, validation_alias=AliasChoices("_id", "id"))
    name: str | None = None
    timezone: str | None = None
    slots: list[QueueDay] = Field(default_factory=list)
    active: bool | None = None


class QueueState(LateModel):
    """A profile's default queue (`schedule` None when it has none) and its next slot times."""

    exists: bool = False
    schedule: QueueSchedule | None = None
    next_slots: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("nextSlots", "next_slots")
    )


class QueuePreview(LateModel):
    slots: list[str] = Field(default_factory=list)
