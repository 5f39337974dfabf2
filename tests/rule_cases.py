"""One target per case, for every rule in late_mcp.rules.table: one that passes, one that breaks it.

A passing case must raise no problem at all; a failing case must raise exactly its rule. The cases
are plain data (platform, text, media kinds, title, options as a caller would send them), so they can
be replayed through a real MCP session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RuleCase:
    platform: str
    rule: str  # the rule id the case is about, e.g. "twitter.text_max"
    text: str
    media: list[str]  # media kinds: image, video, gif, document
    title: str | None
    options: dict[str, Any] | None
    passes: bool

    @property
    def name(self) -> str:
        return f"{self.rule}-{'pass' if self.passes else 'fail'}"


def ok(
    rule: str,
    text: str = "Hello",
    media: list[str] | None = None,
    title: str | None = None,
    options: dict[str, Any] | None = None,
) -> RuleCase:
    return RuleCase(rule.split(".")[0], rule, text, media or [], title, options, True)


def bad(
    rule: str,
    text: str = "Hello",
    media: list[str] | None = None,
    title: str | None = None,
    options: dict[str, Any] | None = None,
) -> RuleCase:
    return RuleCase(rule.split(".")[0], rule, text, media or [], title, options, False)


# TikTok targets need their settings; these are complete for a photo post and for a video post.
TIKTOK_PHOTO: dict[str, Any] = {
    "privacy_level": "PUBLIC_TO_EVERYONE",
    "allow_comment": True,
    "content_preview_confirmed": True,
    "express_consent_given": True,
}
TIKTOK_VIDEO: dict[str, Any] = {**TIKTOK_PHOTO, "allow_duet": False, "allow_stitch": True}


def without(options: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != key}


def images(count: int) -> list[str]:
    return ["image"] * count


CASES: list[RuleCase] = [
    # X
    ok("twitter.text_max", "a" * 280),
    bad("twitter.text_max", "a" * 281),
    bad("twitter.text_max", "root", options={"thread": ["fine", "b" * 281]}),
    ok("twitter.empty", "", ["image"]),
    bad("twitter.empty", "  "),
    ok("twitter.images_max", media=images(4)),
    bad("twitter.images_max", media=images(5)),
    ok("twitter.videos_max", media=["video"]),
    bad("twitter.videos_max", media=["video", "video"]),
    ok("twitter.documents_max", media=["image"]),
    bad("twitter.documents_max", media=["document"]),
    ok("twitter.mixed_media", media=["image", "image"]),
    bad("twitter.mixed_media", media=["image", "video"]),
    ok("twitter.gif_alone", media=["gif"]),
    bad("twitter.gif_alone", media=["gif", "image"]),
    ok("twitter.thread_item_empty", options={"thread": ["second", "b" * 280]}),
    bad("twitter.thread_item_empty", options={"thread": ["second", " "]}),
    # Instagram
    ok("instagram.text_max", "a" * 2200, ["image"]),
    bad("instagram.text_max", "a" * 2201, ["image"]),
    ok("instagram.media_required", media=["video"]),
    bad("instagram.media_required"),
    ok("instagram.media_max", media=images(5) + ["video"] * 5),
    bad("instagram.media_max", media=images(11)),
    ok("instagram.documents_max", media=["image"]),
    bad("instagram.documents_max", media=["document"]),
    ok("instagram.story_media_max", media=["image"], options={"content_type": "story"}),
    bad("instagram.story_media_max", media=images(2), options={"contentType": "story"}),
    ok("instagram.reel_video_required", media=["video"], options={"content_type": "reel"}),
    bad("instagram.reel_video_required", media=["image"], options={"content_type": "reel"}),
    ok("instagram.reel_media_max", media=["video"], options={"content_type": "reel", "share_to_feed": False}),
    bad("instagram.reel_media_max", media=["video", "video"], options={"content_type": "reel"}),
    # Facebook
    ok("facebook.text_max", "a" * 63206),
    bad("facebook.text_max", "a" * 63207),
    ok("facebook.empty", "", ["image"]),
    bad("facebook.empty", ""),
    ok("facebook.images_max", media=images(10)),
    bad("facebook.images_max", media=images(11)),
    ok("facebook.videos_max", media=["video"]),
    bad("facebook.videos_max", media=["video", "gif"]),
    ok("facebook.documents_max", media=["video"]),
    bad("facebook.documents_max", media=["document"]),
    ok("facebook.mixed_media", media=["image", "image"]),
    bad("facebook.mixed_media", media=["image", "video"]),
    bad("facebook.mixed_media", media=["image", "gif"]),
    ok("facebook.story_media_required", "", ["video"], options={"content_type": "story"}),
    bad("facebook.story_media_required", options={"content_type": "story"}),
    ok("facebook.story_media_max", media=["image"], options={"content_type": "story"}),
    bad("facebook.story_media_max", media=images(2), options={"content_type": "story"}),
    ok("facebook.reel_video_required", media=["video"], options={"content_type": "reel", "title": "Reel"}),
    bad("facebook.reel_video_required", media=["image"], options={"content_type": "reel"}),
    # LinkedIn
    ok("linkedin.text_max", "a" * 3000),
    bad("linkedin.text_max", "a" * 3001),
    ok("linkedin.empty", "", ["document"]),
    bad("linkedin.empty", ""),
    ok("linkedin.images_max", media=images(20)),
    bad("linkedin.images_max", media=images(21)),
    ok("linkedin.videos_max", media=["gif"]),
    bad("linkedin.videos_max", media=["video", "video"]),
    ok("linkedin.documents_max", media=["document"], options={"document_title": "Deck"}),
    bad("linkedin.documents_max", media=["document", "document"]),
    ok("linkedin.mixed_media", media=images(3)),
    bad("linkedin.mixed_media", media=["image", "document"]),
    bad("linkedin.mixed_media", media=["image", "gif"]),
    # TikTok
    ok("tiktok.text_max", "a" * 2200, ["video"], options=TIKTOK_VIDEO),
    bad("tiktok.text_max", "a" * 2201, ["video"], options=TIKTOK_VIDEO),
    ok("tiktok.media_required", media=images(2), options=TIKTOK_PHOTO),
    bad("tiktok.media_required", options=TIKTOK_PHOTO),
    ok("tiktok.images_max", media=images(35), options=TIKTOK_PHOTO),
    bad("tiktok.images_max", media=images(36), options=TIKTOK_PHOTO),
    ok("tiktok.videos_max", media=["video"], options=TIKTOK_VIDEO),
    bad("tiktok.videos_max", media=["video", "video"], options=TIKTOK_VIDEO),
    ok("tiktok.documents_max", media=["image"], options=TIKTOK_PHOTO),
    bad("tiktok.documents_max", media=["document"], options=TIKTOK_PHOTO),
    ok("tiktok.mixed_media", media=["video"], options=TIKTOK_VIDEO),
    bad("tiktok.mixed_media", media=["image", "video"], options=TIKTOK_VIDEO),
    ok("tiktok.consent", media=["video"], options={**TIKTOK_VIDEO, "draft": True}),
    bad("tiktok.consent", media=["video"], options={**TIKTOK_VIDEO, "content_preview_confirmed": False}),
    bad("tiktok.consent", media=["image"], options=without(TIKTOK_PHOTO, "express_consent_given")),
    ok("tiktok.privacy_level", media=["video"], options={**TIKTOK_VIDEO, "privacy_level": "SELF_ONLY"}),
    bad("tiktok.privacy_level", media=["video"], options=without(TIKTOK_VIDEO, "privacy_level")),
    ok("tiktok.allow_comment", media=["video"], options={**TIKTOK_VIDEO, "allow_comment": False}),
    bad("tiktok.allow_comment", media=["video"], options=without(TIKTOK_VIDEO, "allow_comment")),
    ok("tiktok.duet_stitch", media=images(3), options=TIKTOK_PHOTO),
    bad("tiktok.duet_stitch", media=["video"], options=TIKTOK_PHOTO),
    bad("tiktok.duet_stitch", media=["video"], options=without(TIKTOK_VIDEO, "allow_stitch")),
    ok("tiktok.video_video_required", media=["video"], options={**TIKTOK_VIDEO, "media_type": "video"}),
    bad("tiktok.video_video_required", media=images(2), options={**TIKTOK_VIDEO, "media_type": "video"}),
    ok("tiktok.photo_videos_max", media=images(2), options={**TIKTOK_PHOTO, "mediaType": "photo"}),
    bad("tiktok.photo_videos_max", media=["video"], options={**TIKTOK_PHOTO, "media_type": "photo"}),
    # YouTube
    ok("youtube.text_max", "a" * 5000, ["video"], title="Demo"),
    bad("youtube.text_max", "a" * 5001, ["video"], title="Demo"),
    ok("youtube.video_required", media=["video"], title="Demo"),
    bad("youtube.video_required", title="Demo"),
    ok("youtube.images_max", media=["video"], title="Demo", options={"visibility": "unlisted"}),
    bad("youtube.images_max", media=["video", "image"], title="Demo"),
    ok("youtube.videos_max", media=["video"], title="Demo"),
    bad("youtube.videos_max", media=["video", "video"], title="Demo"),
    ok("youtube.documents_max", media=["video"], title="Demo"),
    bad("youtube.documents_max", media=["video", "document"], title="Demo"),
    ok("youtube.title_max", media=["video"], title="t" * 100),
    ok("youtube.title_max", "x" * 300, ["video"], title="t" * 150, options={"title": "Own title"}),
    bad("youtube.title_max", media=["video"], title="t" * 101),
    ok("youtube.title_required", media=["video"], options={"title": "From the options"}),
    bad("youtube.title_required", "First line only", ["video"]),
    # Pinterest
    ok("pinterest.text_max", "a" * 800, ["image"], title="Pin"),
    bad("pinterest.text_max", "a" * 801, ["image"], title="Pin"),
    ok("pinterest.media_required", media=["video"], options={"board_id": "b1"}),
    bad("pinterest.media_required", options={"board_id": "b1"}),
    ok("pinterest.media_max", media=["gif"]),
    bad("pinterest.media_max", media=images(2)),
    ok("pinterest.documents_max", media=["image"]),
    bad("pinterest.documents_max", media=["document"]),
    ok("pinterest.title_max", media=["image"], options={"title": "t" * 100}),
    bad("pinterest.title_max", media=["image"], title="t" * 101),
    # Reddit
    ok("reddit.text_max", "a" * 40000, title="Title"),
    bad("reddit.text_max", "a" * 40001, title="Title"),
    ok("reddit.empty", "", ["image"], title="Look"),
    bad("reddit.empty", "", title="Look"),
    ok("reddit.images_max", media=["gif"]),
    bad("reddit.images_max", media=images(2)),
    ok("reddit.videos_max", options={"url": "https://example.com/video", "subreddit": "test"}),
    bad("reddit.videos_max", media=["video"]),
    ok("reddit.documents_max", media=["image"]),
    bad("reddit.documents_max", media=["document"]),
    ok("reddit.title_max", "l" * 400, title=None),
    ok("reddit.title_max", title="t" * 300),
    bad("reddit.title_max", title="t" * 301),
    # Bluesky
    ok("bluesky.text_max", "a" * 300),
    bad("bluesky.text_max", "a" * 301),
    bad("bluesky.text_max", options={"thread": ["b" * 301]}),
    ok("bluesky.empty", "", ["video"]),
    bad("bluesky.empty", ""),
    ok("bluesky.images_max", media=[*images(3), "gif"]),
    bad("bluesky.images_max", media=images(5)),
    ok("bluesky.videos_max", media=["video"]),
    bad("bluesky.videos_max", media=["video", "video"]),
    ok("bluesky.documents_max", media=["image"]),
    bad("bluesky.documents_max", media=["document"]),
    ok("bluesky.mixed_media", media=images(2)),
    bad("bluesky.mixed_media", media=["video", "image"]),
    ok("bluesky.thread_item_empty", options={"thread": ["two"]}),
    bad("bluesky.thread_item_empty", options={"thread": [""]}),
    # Threads
    ok("threads.text_max", "a" * 500),
    bad("threads.text_max", "a" * 501),
    bad("threads.text_max", options={"thread": ["b" * 501]}),
    ok("threads.empty", "", ["image"]),
    bad("threads.empty", ""),
    ok("threads.images_max", media=images(20)),
    bad("threads.images_max", media=images(21)),
    ok("threads.videos_max", media=["video"]),
    bad("threads.videos_max", media=["video", "video"]),
    ok("threads.documents_max", media=["gif"]),
    bad("threads.documents_max", media=["document"]),
    ok("threads.mixed_media", media=["image", "gif"]),
    bad("threads.mixed_media", media=["image", "video"]),
    ok("threads.thread_item_empty", options={"thread": ["two", "three"]}),
    bad("threads.thread_item_empty", options={"thread": ["two", ""]}),
    # Google Business
    ok("googlebusiness.text_max", "a" * 1500),
    bad("googlebusiness.text_max", "a" * 1501),
    ok("googlebusiness.empty", "", ["image"]),
    bad("googlebusiness.empty", ""),
    ok("googlebusiness.images_max", media=["image"]),
    bad("googlebusiness.images_max", media=images(2)),
    ok(
        "googlebusiness.videos_max",
        options={"call_to_action": {"type": "LEARN_MORE", "url": "https://example.com/watch"}},
    ),
    bad("googlebusiness.videos_max", media=["video"]),
    ok("googlebusiness.documents_max", media=["image"]),
    bad("googlebusiness.documents_max", media=["document"]),
    ok("googlebusiness.gif", media=["image"]),
    bad("googlebusiness.gif", media=["gif"]),
    # Telegram
    ok("telegram.text_max", "a" * 4096),
    bad("telegram.text_max", "a" * 4097),
    ok("telegram.caption_max", "a" * 1024, ["image"]),
    bad("telegram.caption_max", "a" * 1025, ["video"]),
    ok("telegram.empty", "", ["image"], options={"protect_content": True}),
    bad("telegram.empty", "", options={"parse_mode": "HTML"}),
    ok("telegram.media_max", media=images(5) + ["video"] * 5),
    bad("telegram.media_max", media=images(11)),
    ok("telegram.documents_max", media=["gif"]),
    bad("telegram.documents_max", media=["document"]),
    # Snapchat
    ok("snapchat.media_required", "a" * 500, ["image"]),
    bad("snapchat.media_required", options={"content_type": "story"}),
    ok("snapchat.media_max", media=["video"]),
    bad("snapchat.media_max", media=images(2)),
    ok("snapchat.documents_max", media=["image"]),
    bad("snapchat.documents_max", media=["document"]),
    ok("snapchat.saved_story_text_max", "a" * 45, ["image"], options={"content_type": "saved_story"}),
    bad("snapchat.saved_story_text_max", "a" * 46, ["image"], options={"contentType": "saved_story"}),
    ok("snapchat.spotlight_text_max", "a" * 160, ["video"], options={"content_type": "spotlight"}),
    bad("snapchat.spotlight_text_max", "a" * 161, ["video"], options={"content_type": "spotlight"}),
    ok("snapchat.spotlight_video_required", media=["video"], options={"content_type": "spotlight"}),
    bad("snapchat.spotlight_video_required", media=["image"], options={"content_type": "spotlight"}),
]
