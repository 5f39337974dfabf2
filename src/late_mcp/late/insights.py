"""Models of what Late sends back after a post: analytics, follower stats, comments, publishing logs."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, model_validator

from late_mcp.late.models import LateModel, MediaItem, Pagination


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Metrics(LateModel):
    impressions: int = 0
    reach: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    clicks: int = 0
    views: int = 0
    engagement_rate: float = Field(0.0, validation_alias=_alias("engagementRate", "engagement_rate"))


class PlatformMetrics(LateModel):
    platform: str | None = None
    account_id: str | None = Field(None, validation_alias=_alias("accountId", "account_id"))
    account_username: str | None = Field(None, validation_alias=_alias("accountUsername", "account_username"))
    analytics: Metrics = Field(default_factory=Metrics)


class AnalyticsPost(LateModel):
    id: str = Field(validation_alias=_alias("_id", "id", "postId"))
    late_post_id: str | None = Field(None, validation_alias=_alias("latePostId", "late_post_id"))
    content: str | None = None
    status: str | None = None
    published_at: str | None = Field(None, validation_alias=_alias("publishedAt", "published_at"))
    platform: str | None = None
    platform_post_url: str | None = Field(
        None, validation_alias=_alias("platformPostUrl", "platform_post_url")
    )
    analytics: Metrics = Field(default_factory=Metrics)
    platforms: list[PlatformMetrics] = Field(default_factory=list)
    thumbnail_url: str | None = Field(None, validation_alias=_alias("thumbnailUrl", "thumbnail_url"))
    media_items: list[MediaItem] = Field(
        default_factory=list, validation_alias=_alias("mediaItems", "media_items")
    )

    @property
    def thumbnail(self) -> str | None:
        """Late's thumbnail, else the post's first image."""
        images = (m.url for m in self.media_items if m.type in {None, "image"})
        return self.thumbnail_url or next(images, None)


class AnalyticsPage(LateModel):
    posts: list[AnalyticsPost] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)


class BestSlot(LateModel):
    """Late's best-time slot: day_of_week 0 = Monday (unlike queues), hour in UTC."""

    day_of_week: int
    hour: int
    avg_engagement: float = 0.0
    post_count: int = 0


class BestTimes(LateModel):
    slots: list[BestSlot] = Field(default_factory=list)


class FollowerAccount(LateModel):
    id: str = Field(validation_alias=_alias("_id", "id"))
    platform: str | None = None
    username: str | None = None
    current_followers: float | None = Field(
        None, validation_alias=_alias("currentFollowers", "current_followers")
    )
    growth: float | None = None
    growth_percentage: float | None = Field(
        None, validation_alias=_alias("growthPercentage", "growth_percentage")
    )


class FollowerStats(LateModel):
    accounts: list[FollowerAccount] = Field(default_factory=list)


class CommentedPost(LateModel):
    id: str
    platform: str | None = None
    account_id: str | None = Field(None, validation_alias=_alias("accountId", "account_id"))
    account_username: str | None = Field(None, validation_alias=_alias("accountUsername", "account_username"))
    content: str | None = None
    permalink: str | None = None
    created_time: str | None = Field(None, validation_alias=_alias("createdTime", "created_time"))
    comment_count: int = Field(0, validation_alias=_alias("commentCount", "comment_count"))


class CommentedPosts(LateModel):
    data: list[CommentedPost] = Field(default_factory=list)


class CommentAuthor(LateModel):
    name: str | None = None
    username: str | None = None
    is_owner: bool | None = Field(None, validation_alias=_alias("isOwner", "is_owner"))


class Comment(LateModel):
    id: str
    message: str | None = None
    created_time: str | None = Field(None, validation_alias=_alias("createdTime", "created_time"))
    author: CommentAuthor | None = Field(None, validation_alias=_alias("from", "author"))
    like_count: int | None = Field(None, validation_alias=_alias("likeCount", "like_count"))
    reply_count: int | None = Field(None, validation_alias=_alias("replyCount", "reply_count"))
    platform: str | None = None
    can_reply: bool | None = Field(None, validation_alias=_alias("canReply", "can_reply"))
    can_hide: bool | None = Field(None, validation_alias=_alias("canHide", "can_hide"))
    is_hidden: bool | None = Field(None, validation_alias=_alias("isHidden", "is_hidden"))
    parent_id: str | None = Field(None, validation_alias=_alias("parentId", "parent_id"))


class Comments(LateModel):
    comments: list[Comment] = Field(default_factory=list)


class Reply(LateModel):
    comment_id: str | None = Field(None, validation_alias=_alias("commentId", "comment_id"))
    is_reply: bool | None = Field(None, validation_alias=_alias("isReply", "is_reply"))

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        return data.get("data", data) if isinstance(data, dict) else data


class Hidden(LateModel):
    comment_id: str | None = Field(None, validation_alias=_alias("commentId", "comment_id"))
    hidden: bool | None = None
    platform: str | None = None


class PostLogEntry(LateModel):
    platform: str | None = None
    account_username: str | None = Field(None, validation_alias=_alias("accountUsername", "account_username"))
    action: str | None = None
    status: str | None = None
    status_code: int | None = Field(None, validation_alias=_alias("statusCode", "status_code"))
    error_message: str | None = None
    error_code: str | None = None
    attempt: int | None = Field(None, validation_alias=_alias("attemptNumber", "attempt"))
    created_at: str | None = Field(None, validation_alias=_alias("createdAt", "created_at"))

    @model_validator(mode="before")
    @classmethod
    def _response(cls, data: Any) -> Any:
        """Lift the error out of Late's `response` object; the rest of it is raw platform detail."""
        if isinstance(data, dict) and isinstance(data.get("response"), dict):
            response = data["response"]
            data = {
                **data,
                "error_message": response.get("errorMessage"),
                "error_code": response.get("errorCode"),
            }
        return data


class PostLogs(LateModel):
    logs: list[PostLogEntry] = Field(default_factory=list)
