"""Late's publishing rules, one table entry per platform.

Sources: the platform guides and "Platform Settings" in Late's docs, and the platformSpecificData
schemas in Late's OpenAPI spec. Where those are silent or disagree, an entry's `notes` say so and the
entry errs on the side of letting Late (or the platform) decide.

Text is counted as Python `len()` (code points), except X's: X weighs it (weigh.py). Limits the
docs do not give are left out unless the platform itself documents one, which the notes then name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Literal

# How a GIF counts: as an image, as a video, as an image that must be the only media item, or not at all.
GifCounting = Literal["image", "video", "alone", "refused"]
# What picks a platform's variant: the content_type option, or the media (TikTok video or photo post).
VariantBy = Literal["content_type", "media"]


@dataclass(frozen=True)
class Limits:
    """The limits of one kind of post. None: no such limit (in a variant: the base's value holds)."""

    text_max: int | None = None  # characters of text (a text-only post, or any post without caption_max)
    caption_max: int | None = None  # characters of text when media is attached
    needs_text_or_media: bool | None = None  # an empty post (no text, no media) is refused
    media_required: bool | None = None
    video_required: bool | None = None
    media_max: int | None = None  # media items of any kind together
    images_max: int | None = None  # 0: images are not accepted
    videos_max: int | None = None  # 0: videos are not accepted
    documents_max: int | None = None  # 0: documents (PDF) are not accepted
    no_mixing: bool | None = None  # images, videos and documents may not share a post
    title_max: int | None = None  # characters of the post's title
    title_required: bool | None = None  # a title must be given (title, or the options' title)


# The rule name each limit is reported under: "<platform>.<name>", or "<platform>.<variant>_<name>"
# when a variant (e.g. Instagram's story) sets the limit itself.
LIMIT_RULES: dict[str, str] = {
    "text_max": "text_max",
    "caption_max": "caption_max",
    "needs_text_or_media": "empty",
    "media_required": "media_required",
    "video_required": "video_required",
    "media_max": "media_max",
    "images_max": "images_max",
    "videos_max": "videos_max",
    "documents_max": "documents_max",
    "no_mixing": "mixed_media",
    "title_max": "title_max",
    "title_required": "title_required",
}


@dataclass(frozen=True)
class RequiredOption:
    """Options a post cannot do without: set at all, or set to true."""

    rule: str
    keys: tuple[str, ...]
    must_be_true: bool
    why: str
    only_for: str | None = None  # a variant name; None: every post on the platform
    # A choice only the person can make (who sees the post, who may reply): the question to put
    # to them and the answers there are. A refusal never picks one of the answers itself.
    ask: str | None = None


@dataclass(frozen=True)
class PlatformRules:
    """Everything Late asks of a post to one platform."""

    platform: str
    name: str  # how people call it, for messages
    base: Limits
    variant_by: VariantBy | None = None
    default_variant: str | None = None
    variants: dict[str, Limits] = field(default_factory=dict)
    gif: GifCounting = "image"
    thread: bool = False  # accepts follow-up posts (options.thread), each held to text_max
    x_weighted: bool = False  # text_max is on X's weighted scale (links 23, most emoji and CJK 2)
    title_from_first_line: bool = False  # without a title, Late takes the text's first line
    required_options: tuple[RequiredOption, ...] = ()
    notes: tuple[str, ...] = ()

    def limits(self, variant: str | None) -> tuple[Limits, dict[str, str]]:
        """The limits for `variant` and the rule id each set limit is reported under."""
        own = self.variants.get(variant or "", Limits())
        merged = self.base
        ids: dict[str, str] = {}
        for f in fields(Limits):
            mine = getattr(own, f.name)
            if mine is not None:
                merged = replace(merged, **{f.name: mine})
                ids[f.name] = f"{self.platform}.{variant}_{LIMIT_RULES[f.name]}"
            elif getattr(self.base, f.name) is not None:
                ids[f.name] = f"{self.platform}.{LIMIT_RULES[f.name]}"
        return merged, ids

    def rule_ids(self) -> list[str]:
        """Every rule this entry holds, each once."""
        ids: list[str] = []
        for variant in (None, *self.variants):
            ids += self.limits(variant)[1].values()
        if self.gif == "alone":
            ids.append(f"{self.platform}.gif_alone")
        if self.gif == "refused":
            ids.append(f"{self.platform}.gif")
        if self.thread:
            ids.append(f"{self.platform}.thread_item_empty")
        ids += [f"{self.platform}.{required.rule}" for required in self.required_options]
        return list(dict.fromkeys(ids))


# TikTok's privacy levels (its creator info tells which of them one account offers).
TIKTOK_PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")

THREAD_NOTE = "options.thread adds follow-up posts (threadItems); each is held to the text limit."

RULES: dict[str, PlatformRules] = {
    rules.platform: rules
    for rules in (
        PlatformRules(
            platform="twitter",
            name="X",
            base=Limits(
                text_max=280,
                needs_text_or_media=True,
                images_max=4,
                videos_max=1,
                documents_max=0,
                no_mixing=True,
            ),
            gif="alone",
            thread=True,
            x_weighted=True,
            notes=(
                "280 is on X's scale (twitter-text v3): a link counts 23, most emoji and CJK characters 2.",
                "A GIF takes all 4 image slots: it must be the only media item.",
                THREAD_NOTE,
            ),
        ),
        PlatformRules(
            platform="instagram",
            name="Instagram",
            base=Limits(text_max=2200, media_required=True, media_max=10, documents_max=0),
            variant_by="content_type",
            default_variant="feed",
            variants={
                "feed": Limits(),
                "story": Limits(media_max=1),
                "reel": Limits(video_required=True, media_max=1),
            },
            notes=(
                "2,200 is the caption limit Late's length check reports; the guides do not state it.",
                "Feed carousels may mix images and videos (up to 10 items).",
                "feed and reel send no contentType: Late picks feed or Reel from the media "
                "(a short 9:16 video becomes a Reel).",
                "Stories show no caption. Feed images need an aspect ratio of 0.8 to 1.91 (not checked).",
            ),
        ),
        PlatformRules(
            platform="facebook",
            name="Facebook",
            base=Limits(
                text_max=63206,
                needs_text_or_media=True,
                images_max=10,
                videos_max=1,
                documents_max=0,
                no_mixing=True,
            ),
            variant_by="content_type",
            default_variant="feed",
            variants={
                "feed": Limits(),
                "story": Limits(media_required=True, media_max=1),
                "reel": Limits(video_required=True),  # one video, nothing else: the base limits see to that
            },
            gif="video",
            notes=(
                "Late's docs give no text limit; 63,206 is Facebook's own.",
                "GIFs are treated as videos.",
                "Stories show no caption; reels need one vertical video (3-60 s, not checked).",
            ),
        ),
        PlatformRules(
            platform="linkedin",
            name="LinkedIn",
            base=Limits(
                text_max=3000,
                needs_text_or_media=True,
                images_max=20,
                videos_max=1,
                documents_max=1,
                no_mixing=True,
            ),
            gif="video",
            notes=(
                "Late's docs give no text limit; 3,000 is LinkedIn's own.",
                "A GIF counts as a video. One PDF document, alone (title: options.document_title).",
            ),
        ),
        PlatformRules(
            platform="tiktok",
            name="TikTok",
            base=Limits(
                text_max=2200,
                media_required=True,
                images_max=35,
                videos_max=1,
                documents_max=0,
                no_mixing=True,
            ),
            variant_by="media",
            # Late tells them apart by the media, or by options.media_type when given.
            variants={"video": Limits(video_required=True), "photo": Limits(videos_max=0)},
            required_options=(
                RequiredOption(
                    rule="consent",
                    keys=("content_preview_confirmed", "express_consent_given"),
                    must_be_true=True,
                    why="the user must have seen the post and agreed to publish it",
                ),
                RequiredOption(
                    rule="privacy_level",
                    keys=("privacy_level",),
                    must_be_true=False,
                    why="who may see the post; there is no default",
                    ask=f"who may see it: one of {', '.join(TIKTOK_PRIVACY_LEVELS)} (as the account offers)",
                ),
                RequiredOption(
                    rule="allow_comment",
                    keys=("allow_comment",),
                    must_be_true=False,
                    why="TikTok's Direct Post API has no default",
                    ask="whether others may comment: allow_comment true or false",
                ),
                RequiredOption(
                    rule="duet_stitch",
                    keys=("allow_duet", "allow_stitch"),
                    must_be_true=False,
                    why="TikTok's Direct Post API has no default for videos",
                    only_for="video",
                    ask="whether others may duet and stitch it: allow_duet and allow_stitch, "
                    "each true or false",
                ),
            ),
            notes=(
                "One video or up to 35 images. Photo captions are cut to 90 characters: "
                "put longer text in options.description.",
                "Who may see, comment, duet or stitch, and commercial_content_type (brand disclosure) "
                "are the person's choices: ask them, never choose for them.",
            ),
        ),
        PlatformRules(
            platform="youtube",
            name="YouTube",
            base=Limits(
                text_max=5000,
                video_required=True,
                images_max=0,
                videos_max=1,
                documents_max=0,
                title_max=100,
                title_required=True,
            ),
            notes=(
                "The text is the video description. Without a title Late would use the text's first line; "
                "a public video deserves a chosen title, so one is required here.",
                "Videos up to 3 minutes become Shorts. Tags: each up to 100, together up to 500 characters.",
            ),
        ),
        PlatformRules(
            platform="pinterest",
            name="Pinterest",
            base=Limits(text_max=800, media_required=True, media_max=1, documents_max=0, title_max=100),
            title_from_first_line=True,
            notes=(
                "Late's docs give no description limit; 800 is Pinterest's API limit.",
                "One image or one video per Pin. Without a title Late uses the text's first line.",
                "The docs disagree on whether board_id is required; without it Late uses the first board.",
            ),
        ),
        PlatformRules(
            platform="reddit",
            name="Reddit",
            base=Limits(
                text_max=40000,
                needs_text_or_media=True,
                images_max=1,
                videos_max=0,
                documents_max=0,
                title_max=300,
            ),
            notes=(
                "Late's docs give no text limit; 40,000 is Reddit's own for text posts.",
                "Without a title Late uses the text's first line, cut to 300 characters.",
                "No video uploads via the API: link to the video (options.url) instead.",
                "Some subreddits require a flair (options.flair_id).",
            ),
        ),
        PlatformRules(
            platform="bluesky",
            name="Bluesky",
            base=Limits(
                text_max=300,
                needs_text_or_media=True,
                images_max=4,
                videos_max=1,
                documents_max=0,
                no_mixing=True,
            ),
            thread=True,
            notes=("Up to 4 images or one video.", THREAD_NOTE),
        ),
        PlatformRules(
            platform="threads",
            name="Threads",
            base=Limits(
                text_max=500,
                needs_text_or_media=True,
                images_max=20,
                videos_max=1,
                documents_max=0,
                no_mixing=True,
            ),
            thread=True,
            notes=(
                "The guide allows 20 images per carousel, the API reference says 10: 20 is checked.",
                "No videos in a carousel: one video alone.",
                THREAD_NOTE,
            ),
        ),
        PlatformRules(
            platform="googlebusiness",
            name="Google Business",
            base=Limits(
                text_max=1500,
                needs_text_or_media=True,
                images_max=1,
                videos_max=0,
                documents_max=0,
            ),
            gif="refused",
            notes=("Text and at most one JPEG or PNG image; no video, no GIF.",),
        ),
        PlatformRules(
            platform="telegram",
            name="Telegram",
            base=Limits(
                text_max=4096,
                caption_max=1024,
                needs_text_or_media=True,
                media_max=10,
                documents_max=0,
            ),
            notes=("Albums of up to 10 images and videos, mixed.",),
        ),
        PlatformRules(
            platform="snapchat",
            name="Snapchat",
            base=Limits(media_required=True, media_max=1, documents_max=0),
            variant_by="content_type",
            default_variant="story",
            variants={
                "story": Limits(),
                "saved_story": Limits(text_max=45),
                "spotlight": Limits(text_max=160, video_required=True),
            },
            notes=(
                "Needs a Public Profile. Stories show no text; a saved story's text is its title; "
                "a spotlight's text is its description.",
            ),
        ),
    )
}
