"""Checking one target (a platform, its final text, media, title and options) against the table."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from late_mcp.core.platforms import MediaType
from late_mcp.rules.options import PlatformOptions
from late_mcp.rules.parse import checked_options, platform_rules
from late_mcp.rules.table import Limits, PlatformRules
from late_mcp.rules.weigh import Weighed, x_weighed

MediaKind = MediaType
Counted = Literal["image", "video", "document"]


# Characters that draw nothing on their own: controls, format characters (zero-width space, joiners,
# word joiner, BOM, soft hyphen, tags...), surrogates, unassigned code points, spaces and line
# separators, and marks that need a base character (combining marks, variation selectors).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters and symbols that are drawn blank: the Hangul fillers and the empty braille pattern.
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible(text: str | None) -> bool:
    """Whether `text` has at least one character a reader would see."""
    return any(
        ch not in _BLANK_CHARACTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text or ""
    )


def invisible_named(text: str, most: int = 3) -> str:
    """The distinct non-space characters of an invisible text, named: `U+200B ZERO WIDTH SPACE`."""
    found = list(dict.fromkeys(ch for ch in text if not ch.isspace()))
    names = [f"U+{ord(ch):04X} {unicodedata.name(ch, unicodedata.category(ch))}" for ch in found[:most]]
    return ", ".join(names) + (f" and {len(found) - most} more" if len(found) > most else "")


def _empty_text(text: str) -> str:
    """Why `text` counts as empty, for a message ("has no text", or which invisible characters)."""
    if not text.strip():
        return "has no text"
    return f"has no visible characters (only invisible ones: {invisible_named(text)})"


@dataclass(frozen=True)
class Problem:
    """One broken rule: which, what is wrong (with the numbers) and what to do about it."""

    rule: str  # "<platform>.<rule>", e.g. "twitter.text_max"
    message: str
    fix: str


def check_target(
    platform: str,
    *,
    text: str,
    media: Sequence[MediaKind],
    title: str | None,
    options: PlatformOptions | None,
) -> list[Problem]:
    """Every problem Late's rules find with this target, all at once; [] when it may be sent."""
    rules = platform_rules(platform)
    if options is not None:
        checked_options(rules.platform, options)
    variant = _variant(rules, options, media)
    limits, ids = rules.limits(variant)
    found = _Findings(rules, variant, ids)
    _check_text(found, limits, text, media, options)
    _check_media(found, limits, media)
    _check_title(found, limits, text, title, options)
    _check_required_options(found, options)
    return found.problems


class _Findings:
    """The problems found so far, and how to name them for one target."""

    def __init__(self, rules: PlatformRules, variant: str | None, ids: dict[str, str]) -> None:
        self.rules = rules
        self.variant = variant
        self.ids = ids
        self.problems: list[Problem] = []

    @property
    def what(self) -> str:
        """The platform's name, with the content type when one applies ("Instagram story")."""
        if self.rules.variant_by == "content_type" and self.variant != self.rules.default_variant:
            return f"{self.rules.name} {str(self.variant).replace('_', ' ')}"
        return self.rules.name

    def limit(self, limit: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.ids[limit], message, fix))

    def add(self, rule: str, message: str, fix: str) -> None:
        self.problems.append(Problem(f"{self.rules.platform}.{rule}", message, fix))


def _variant(rules: PlatformRules, options: PlatformOptions | None, media: Sequence[MediaKind]) -> str | None:
    if rules.variant_by == "content_type":
        chosen = getattr(options, "content_type", None)
        return chosen if isinstance(chosen, str) else rules.default_variant
    if rules.variant_by == "media":
        chosen = getattr(options, "media_type", None)
        if isinstance(chosen, str):
            return chosen
        return "video" if "video" in media else "photo"
    return None


def _check_text(
    found: _Findings, limits: Limits, text: str, media: Sequence[MediaKind], options: PlatformOptions | None
) -> None:
    name = found.what
    if limits.caption_max is not None and media:
        if len(text) > limits.caption_max:
            over = len(text) - limits.caption_max
            found.limit(
                "caption_max",
                f"text is {len(text)} characters; {name} allows {limits.caption_max} with media "
                f"(and {limits.text_max} without)",
                f"Shorten it by {over} character{_s(over)}, or give {name} its own text in custom_content.",
            )
    elif limits.text_max is not None and (size := _size(found.rules, text, limits.text_max)).count > (
        limits.text_max
    ):
        over = size.count - limits.text_max
        found.limit(
            "text_max",
            f"text {_counts(found.rules, size)}; {name} allows {limits.text_max}",
            f"Shorten it by {'at least ' if size.at_least else ''}{over} character{_s(over)}, or give "
            f"{name} its own text in custom_content"
            + (
                f", or make it a thread: options.{found.rules.platform}.thread takes the follow-up posts "
                f"(each up to {limits.text_max})."
                if found.rules.thread
                else "."
            ),
        )
    thread: list[str] = (getattr(options, "thread", None) or []) if found.rules.thread else []
    for number, item in enumerate(thread, start=2):
        if not visible(item):
            found.add(
                "thread_item_empty",
                f"thread post {number} is empty: it {_empty_text(item)}",
                "Give it visible text, or remove it from the thread option.",
            )
        elif limits.text_max is not None and (size := _size(found.rules, item, limits.text_max)).count > (
            limits.text_max
        ):
            over = size.count - limits.text_max
            found.limit(
                "text_max",
                f"thread post {number} {_counts(found.rules, size)}; {name} allows {limits.text_max}",
                f"Shorten it by {'at least ' if size.at_least else ''}{over} character{_s(over)}, or "
                "split it into two thread posts.",
            )
    needs_media = limits.media_required or limits.video_required
    if limits.needs_text_or_media and not needs_media and not visible(text) and not media:
        found.limit(
            "needs_text_or_media",
            f"the {name} post {_empty_text(text)} and no media",
            "Give it visible text or media.",
        )


def _check_media(found: _Findings, limits: Limits, media: Sequence[MediaKind]) -> None:
    rules, name = found.rules, found.what
    counts: Counter[str] = Counter(c for c in (_counted(kind, rules.gif) for kind in media) if c)
    gifs = sum(1 for kind in media if kind == "gif")
    gifs_as_videos = f" (GIFs count as videos on {rules.name})" if gifs and rules.gif == "video" else ""
    if limits.video_required and not counts["video"]:
        found.limit(
            "video_required", f"{name} needs a video; this post has none", f"Attach one video for {name}."
        )
    elif limits.media_required and not media:
        found.limit(
            "media_required",
            f"{name} needs media (no text-only posts); this post has none",
            f"Attach an image or video for {name}, or leave {rules.platform} out of this post.",
        )
    if rules.gif == "refused" and gifs:
        found.add(
            "gif", f"{name} does not accept GIFs; this post has {gifs}", "Use a JPEG or PNG image instead."
        )
    if rules.gif == "alone" and gifs and len(media) > 1:
        found.add(
            "gif_alone",
            f"a GIF on {name} must be the only media item; this post has {len(media)} items",
            f"Post the GIF on its own, or drop it from the {name} media.",
        )
    for kind, limit in (("image", "images_max"), ("video", "videos_max"), ("document", "documents_max")):
        allowed: int | None = getattr(limits, limit)
        have = counts[kind]
        if allowed is None or have <= allowed:
            continue
        if allowed == 0:
            message = f"{name} does not accept {kind}s; this post has {have}"
            fix = f"Remove the {kind}{_s(have)} from the media for {name}."
        else:
            message = f"this post has {have} {kind}s; {name} allows {allowed}"
            fix = f"Remove {have - allowed} {kind}{_s(have - allowed)} from the media for {name}."
        found.limit(limit, message + (gifs_as_videos if kind == "video" else ""), fix)
    if limits.media_max is not None and len(media) > limits.media_max:
        over = len(media) - limits.media_max
        found.limit(
            "media_max",
            f"this post has {len(media)} media items; {name} allows {limits.media_max}",
            f"Remove {over} item{_s(over)} from the media for {name}.",
        )
    if limits.no_mixing:
        allowed_kinds = [k for k in ("image", "video", "document") if getattr(limits, f"{k}s_max") != 0]
        present = [k for k in allowed_kinds if counts[k]]
        if len(present) > 1:
            found.limit(
                "no_mixing",
                f"{name} does not mix {' and '.join(k + 's' for k in present)} in one post{gifs_as_videos}",
                f"Keep one kind of media for {name}, or split it into separate posts.",
            )


def _check_required_options(found: _Findings, options: PlatformOptions | None) -> None:
    rules = found.rules
    for required in rules.required_options:
        if required.only_for not in (None, found.variant):
            continue
        values = {key: getattr(options, key, None) for key in required.keys}
        bad = [k for k, v in values.items() if (v is not True if required.must_be_true else v is None)]
        if not bad:
            continue
        wanted = "set to true" if required.must_be_true else "set"
        if required.ask is not None:
            fix = (
                f"Ask the person {required.ask}; then set {' and '.join(bad)} in the {rules.platform} "
                "options to their answer. Do not choose for them."
            )
        else:
            fix = (
                f"Show the person the post and ask whether they agree; only if they do, set "
                f"{' and '.join(f'{k}=true' for k in bad)} in the {rules.platform} options."
            )
        found.add(required.rule, f"{rules.name} needs {' and '.join(bad)} {wanted} ({required.why})", fix)


def _check_title(
    found: _Findings, limits: Limits, text: str, title: str | None, options: PlatformOptions | None
) -> None:
    own = getattr(options, "title", None)
    source, chosen = "title", own if isinstance(own, str) and own else title
    if limits.title_required and not visible(chosen):
        most = f" (at most {limits.title_max} characters)" if limits.title_max else ""
        found.limit(
            "title_required",
            f"{found.what} needs a title",
            f"Pass title{most}, e.g. the video's name; it is shown above the video.",
        )
    if limits.title_max is None:
        return
    if not chosen and found.rules.title_from_first_line:
        source, chosen = "title (the text's first line, as no title is given)", text.strip().split("\n", 1)[0]
    if chosen and len(chosen) > limits.title_max:
        over = len(chosen) - limits.title_max
        if source == "title":
            fix = f"Shorten the title by {over} character{_s(over)}, or set a shorter one in the options."
        else:
            fix = f"Give a title of at most {limits.title_max} characters, or a shorter first line."
        found.limit(
            "title_max", f"{source} is {len(chosen)} characters; {found.what} allows {limits.title_max}", fix
        )


def _counted(kind: MediaKind, gif: str) -> Counted | None:
    if kind != "gif":
        return kind
    if gif == "refused":
        return None
    return "video" if gif == "video" else "image"


def _size(rules: PlatformRules, text: str, limit: int) -> Weighed:
    """How long `text` is by the platform's own count: X's weighted count, else characters."""
    return x_weighed(text, limit) if rules.x_weighted else Weighed(len(text))


def _counts(rules: PlatformRules, size: Weighed) -> str:
    """`is 300 characters`, or on X: `counts 300 on X's scale (links 23, most emoji and CJK 2)`."""
    if rules.x_weighted:
        return f"counts {size} on {rules.name}'s scale (a link 23, most emoji and CJK characters 2)"
    return f"is {size} characters"


def _s(count: int) -> str:
    return "" if count == 1 else "s"
