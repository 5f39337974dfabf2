"""late_mcp.rules: the rules table, option parsing, the wire form and the one-platform summary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from contract import OpenAPIContract, skip_reason
from late_mcp.core.platforms import PLATFORMS
from late_mcp.rules import (
    MediaKind,
    OptionsError,
    PlatformOptions,
    Problem,
    check_target,
    describe,
    parse_options,
    platform_specific_data,
    rule_count,
)
from late_mcp.rules.table import RULES
from rule_cases import CASES, TIKTOK_PHOTO, TIKTOK_VIDEO, RuleCase


def run(case: RuleCase) -> list[Problem]:
    options = parse_options(case.platform, case.options) if case.options is not None else None
    return check_target(
        case.platform,
        text=case.text,
        media=case.media,  # type: ignore[arg-type]  # the cases hold plain strings
        title=case.title,
        options=options,
    )


# --- the table, case by case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule_case(case: RuleCase) -> None:
    problems = run(case)
    if case.passes:
        assert problems == []
    else:
        assert {p.rule for p in problems} == {case.rule}, problems
        for problem in problems:
            assert problem.message and problem.fix


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    covered = {(c.rule, c.passes) for c in CASES}
    for platform in PLATFORMS:
        for rule in RULES[platform].rule_ids():
            assert (rule, True) in covered, f"no passing case for {rule}"
            assert (rule, False) in covered, f"no failing case for {rule}"
    known = {rule for platform in PLATFORMS for rule in RULES[platform].rule_ids()}
    assert {c.rule for c in CASES} <= known


def test_rule_count_matches_the_table() -> None:
    counts = {platform: rule_count(platform) for platform in PLATFORMS}
    assert counts == {
        platform: len({c.rule for c in CASES if c.platform == platform}) for platform in PLATFORMS
    }
    assert all(count >= 5 for count in counts.values())


def test_problems_carry_the_numbers() -> None:
    [problem] = check_target("twitter", text="a" * 281, media=[], title=None, options=None)
    assert problem == Problem(
        "twitter.text_max",
        "text counts 281 on X's scale (a link 23, most emoji and CJK characters 2); X allows 280",
        "Shorten it by 1 character, or give X its own text in custom_content, or make it a thread: "
        "options.twitter.thread takes the follow-up posts (each up to 280).",
    )


def test_every_violation_is_reported_at_once() -> None:
    options = parse_options("twitter", {"thread": ["", "b" * 300]})
    media: list[MediaKind] = ["image", "image", "image", "image", "image", "video", "document"]
    problems = check_target(
        "twitter",
        text="a" * 300,
        media=media,
        title=None,
        options=options,
    )
    rules = [p.rule for p in problems]
    assert sorted(rules) == sorted(
        [
            "twitter.text_max",  # the main text
            "twitter.thread_item_empty",
            "twitter.text_max",  # thread post 3
            "twitter.images_max",
            "twitter.documents_max",
            "twitter.mixed_media",
        ]
    )
    assert any("thread post 3 counts 300 on X's scale" in p.message for p in problems)


def test_tiktok_without_options_lists_every_missing_setting() -> None:
    problems = check_target("tiktok", text="hi", media=["video"], title=None, options=None)
    assert [p.rule for p in problems] == [
        "tiktok.consent",
        "tiktok.privacy_level",
        "tiktok.allow_comment",
        "tiktok.duet_stitch",
    ]
    assert "content_preview_confirmed and express_consent_given" in problems[0].message


def test_options_title_takes_precedence_over_the_post_title() -> None:
    own = parse_options("youtube", {"title": "Short"})
    assert check_target("youtube", text="d", media=["video"], title="t" * 200, options=own) == []
    [problem] = check_target("youtube", text="d", media=["video"], title="t" * 200, options=None)
    assert problem.rule == "youtube.title_max" and "200 characters" in problem.message


def test_platform_aliases_and_wrong_options_type() -> None:
    assert check_target("x", text="hi", media=[], title=None, options=None) == []
    with pytest.raises(OptionsError, match="Unknown platform"):
        check_target("myspace", text="hi", media=[], title=None, options=None)
    with pytest.raises(OptionsError, match="not X options"):
        check_target("twitter", text="hi", media=[], title=None, options=parse_options("bluesky", {}))


# --- options


def options_error(platform: str, raw: dict[str, Any]) -> str:
    with pytest.raises(OptionsError) as caught:
        parse_options(platform, raw)
    text = str(caught.value)
    assert len(text) < 400, text
    return text


def test_unknown_key_names_the_key_and_lists_allowed_keys() -> None:
    text = options_error("tiktok", {"privacy_levl": "SELF_ONLY"})
    assert text.startswith("Unknown TikTok option 'privacy_levl' (did you mean 'privacy_level'?)")
    for key in ("privacy_level", "allow_comment", "content_preview_confirmed", "media_type"):
        assert key in text
    text = options_error("pinterest", {"board": "b1"})
    assert "'board'" in text and "board_id, link, cover_image_url" in text


def test_bluesky_takes_only_a_thread() -> None:
    assert options_error("bluesky", {"reply_settings": "following"}) == (
        "Unknown Bluesky option 'reply_settings'. Allowed keys: thread."
    )


def test_bad_enum_value_lists_the_allowed_values() -> None:
    text = options_error("youtube", {"visibility": "secret"})
    assert (
        text == "YouTube option 'visibility' must be one of 'public', 'private' or 'unlisted'; got 'secret'."
    )
    text = options_error("googlebusiness", {"call_to_action": {"type": "BUY", "url": "https://e.com"}})
    assert "'call_to_action.type'" in text and "'LEARN_MORE'" in text and "'CALL'" in text
    text = options_error("telegram", {"parseMode": "RTF"})
    assert "'HTML', 'Markdown' or 'MarkdownV2'" in text


def test_errors_never_echo_huge_values() -> None:
    text = options_error("snapchat", {"content_type": "x" * 5000})
    assert "x" * 50 not in text and "'story', 'saved_story' or 'spotlight'" in text
    text = options_error("twitter", {"y" * 5000: 1})
    assert "y" * 50 not in text and "thread, reply_settings" in text


def test_value_errors_name_the_key() -> None:
    assert "'allow_comment'" in options_error("tiktok", {"allow_comment": "yes"})
    assert "'title'" in options_error("youtube", {"title": "t" * 101})
    assert "'collaborators'" in options_error("instagram", {"collaborators": ["a", "b", "c", "d"]})
    assert "'user_tags.0.x'" in options_error("instagram", {"user_tags": [{"username": "a", "x": 2, "y": 0}]})
    assert options_error("pinterest", {"link": "not a url"}) == (
        "Pinterest option 'link' must be an http(s) URL; got 'not a url'."
    )
    assert "'trial_params.graduation_strategy' is required" in options_error("instagram", {"trialParams": {}})
    text = options_error("youtube", {"tags": [str(i) * 100 for i in range(6)]})
    assert "600 characters" in text and "500" in text
    assert "'call_to_action.url' is required" in options_error(
        "googlebusiness", {"call_to_action": {"type": "SHOP"}}
    )


def test_youtube_tags_count_once_each() -> None:
    parse_options("youtube", {"tags": ["t" * 100] * 6})  # Late drops duplicates before YouTube counts


def test_thread_items_hint() -> None:
    assert "use 'thread'" in options_error("twitter", {"threadItems": [{"content": "x"}]})


def test_options_must_be_an_object() -> None:
    with pytest.raises(OptionsError, match="must be an object"):
        parse_options("telegram", ["parse_mode"])  # type: ignore[arg-type]


def test_camel_case_aliases_are_accepted() -> None:
    camel = {to_camel(k): v for k, v in TIKTOK_VIDEO.items()}
    assert "privacyLevel" in camel
    assert parse_options("tiktok", camel) == parse_options("tiktok", TIKTOK_VIDEO)
    assert parse_options("tiktok", {"tiktokSettings": camel}) == parse_options("tiktok", TIKTOK_VIDEO)
    pin = parse_options("pinterest", {"boardId": "b1", "coverImageKeyFrameTime": 3})
    assert pin == parse_options("pinterest", {"board_id": "b1", "cover_image_key_frame_time": 3})
    ig = parse_options("instagram", {"firstComment": "hi", "trialParams": {"graduationStrategy": "MANUAL"}})
    assert ig == parse_options(
        "instagram", {"first_comment": "hi", "trial_params": {"graduation_strategy": "MANUAL"}}
    )
    gbp = parse_options("googlebusiness", {"callToAction": {"type": "CALL", "url": "https://e.com"}})
    assert platform_specific_data("googlebusiness", gbp, text="") == {
        "callToAction": {"type": "CALL", "url": "https://e.com"}
    }


# --- the wire form


def test_tiktok_settings_nest_under_tiktok_settings() -> None:
    options = parse_options("tiktok", {**TIKTOK_VIDEO, "commercialContentType": "none"})
    assert platform_specific_data("tiktok", options, text="hi") == {
        "tiktokSettings": {
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "allow_comment": True,
            "allow_duet": False,
            "allow_stitch": True,
            "content_preview_confirmed": True,
            "express_consent_given": True,
            "commercial_content_type": "none",
        }
    }


def test_pinterest_board_id() -> None:
    options = parse_options("pinterest", {"board_id": "b1", "link": "https://example.com/a"})
    assert platform_specific_data("pinterest", options, text="") == {
        "boardId": "b1",
        "link": "https://example.com/a",
    }


def test_instagram_first_comment_and_content_types() -> None:
    options = parse_options("instagram", {"first_comment": "Link in bio", "content_type": "reel"})
    assert platform_specific_data("instagram", options, text="") == {"firstComment": "Link in bio"}
    story = parse_options("instagram", {"content_type": "story"})
    assert platform_specific_data("instagram", story, text="") == {"contentType": "story"}
    assert (
        platform_specific_data("instagram", parse_options("instagram", {"contentType": "feed"}), text="")
        is None
    )


def test_x_thread_items_start_with_the_text() -> None:
    options = parse_options("twitter", {"thread": ["two", "three"]})
    assert platform_specific_data("twitter", options, text="one") == {
        "threadItems": [{"content": "one"}, {"content": "two"}, {"content": "three"}]
    }
    assert platform_specific_data("twitter", parse_options("twitter", {"thread": []}), text="one") is None


def test_nothing_to_send_is_none() -> None:
    for platform in PLATFORMS:
        assert platform_specific_data(platform, None, text="x") is None
        assert platform_specific_data(platform, parse_options(platform, {}), text="x") is None


# Every option each platform takes, set, to check the wire form against Late's spec.
FULL_OPTIONS: dict[str, dict[str, Any]] = {
    "twitter": {"thread": ["two"], "reply_settings": "following"},
    "threads": {"thread": ["two"]},
    "bluesky": {"thread": ["two"]},
    "instagram": {
        "content_type": "story",
        "share_to_feed": False,
        "collaborators": ["a", "b", "c"],
        "first_comment": "first",
        "user_tags": [{"username": "friend", "x": 0.5, "y": 0.25, "media_index": 1}],
        "trial_params": {"graduation_strategy": "SS_PERFORMANCE"},
        "audio_name": "Intro",
        "thumb_offset": 5000,
    },
    "facebook": {"content_type": "reel", "title": "Reel", "first_comment": "first", "page_id": "p1"},
    "linkedin": {
        "first_comment": "first",
        "disable_link_preview": True,
        "document_title": "Deck",
        "organization_urn": "urn:li:organization:1",
    },
    "tiktok": {
        **TIKTOK_VIDEO,
        "draft": False,
        "description": "d",
        "video_cover_timestamp_ms": 1000,
        "photo_cover_index": 0,
        "auto_add_music": True,
        "video_made_with_ai": False,
        "commercial_content_type": "brand_organic",
        "brand_partner_promote": False,
        "is_brand_organic_post": True,
        "media_type": "video",
    },
    "youtube": {
        "title": "Title",
        "visibility": "unlisted",
        "first_comment": "first",
        "tags": ["a", "b"],
        "made_for_kids": False,
        "contains_synthetic_media": True,
        "category_id": "27",
    },
    "pinterest": {
        "title": "Pin",
        "board_id": "b1",
        "link": "https://example.com",
        "cover_image_url": "https://example.com/c.jpg",
        "cover_image_key_frame_time": 2,
    },
    "reddit": {
        "subreddit": "test",
        "title": "Title",
        "url": "https://example.com",
        "force_self": False,
        "flair_id": "f1",
    },
    "googlebusiness": {
        "call_to_action": {"type": "SIGN_UP", "url": "https://example.com"},
        "location_id": "locations/1",
        "language_code": "de",
    },
    "telegram": {
        "parse_mode": "MarkdownV2",
        "disable_web_page_preview": True,
        "disable_notification": True,
        "protect_content": True,
    },
    "snapchat": {"content_type": "saved_story"},
}
SCHEMAS = {
    "twitter": "TwitterPlatformData",
    "threads": "ThreadsPlatformData",
    "facebook": "FacebookPlatformData",
    "instagram": "InstagramPlatformData",
    "linkedin": "LinkedInPlatformData",
    "pinterest": "PinterestPlatformData",
    "youtube": "YouTubePlatformData",
    "googlebusiness": "GoogleBusinessPlatformData",
    "tiktok": "TikTokPlatformData",
    "telegram": "TelegramPlatformData",
    "snapchat": "SnapchatPlatformData",
    "reddit": "RedditPlatformData",
    "bluesky": "BlueskyPlatformData",
}
# Named in Late's "Platform Settings" guide but missing from the spec's schema.
GUIDE_ONLY_KEYS = {"youtube": {"tags"}}


@pytest.fixture(scope="module")
def spec_contract() -> OpenAPIContract:
    contract = OpenAPIContract.load()
    if contract is None:
        pytest.skip(skip_reason() or "spec missing")
    return contract


def test_full_options_cover_every_option() -> None:
    for platform in PLATFORMS:
        parsed = parse_options(platform, FULL_OPTIONS[platform])
        assert set(parsed.model_fields_set) == set(type(parsed).model_fields), platform


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wire_form_matches_the_spec(platform: str, spec_contract: OpenAPIContract) -> None:
    data = platform_specific_data(platform, parse_options(platform, FULL_OPTIONS[platform]), text="one")
    assert data is not None
    body = {
        "content": "one",
        "mediaItems": [{"type": "video", "url": "https://example.com/v.mp4"}],
        "platforms": [{"platform": platform, "accountId": "a1", "platformSpecificData": data}],
        "publishNow": True,
    }
    assert spec_contract.check_request("POST", "/v1/posts", [], body) == "/v1/posts"

    # Stricter than the spec's oneOf (whose members allow any extra key): the platform's own schema,
    # and every key one it names. TikTok's settings nest under tiktokSettings with snake_case names,
    # as Late's guide shows; the spec lists the same settings in camelCase (it accepts both).
    schema = SCHEMAS[platform]
    own = {to_camel(k): v for k, v in data["tiktokSettings"].items()} if platform == "tiktok" else data
    validator = spec_contract._spec.validator(f"/components/schemas/{schema}")  # reuse the spec loader
    errors = [e.message for e in validator.iter_errors(own)]
    assert errors == []
    known = set(spec_contract._spec.spec["components"]["schemas"][schema]["properties"])
    assert set(own) - known == GUIDE_ONLY_KEYS.get(platform, set())


# --- describe


@pytest.mark.parametrize("platform", PLATFORMS)
def test_describe_is_small_and_complete(platform: str) -> None:
    summary = describe(platform)
    assert len(json.dumps(summary, separators=(",", ":"))) < 1500
    assert summary["platform"] == platform
    assert summary["rules"] == rule_count(platform)
    model_keys = set(type(parse_options(platform, {})).model_fields)
    assert set(summary["options"]) == model_keys


def test_describe_shows_types_values_and_required() -> None:
    tiktok = describe("tiktok")["options"]
    assert tiktok["privacy_level"]["required"] is True
    assert tiktok["allow_duet"]["required"] == "video posts"
    assert tiktok["commercial_content_type"] == {
        "type": "enum",
        "values": ["none", "brand_organic", "brand_content"],
    }
    assert "required" not in tiktok["draft"]
    youtube = describe("youtube")
    assert youtube["limits"]["title_max"] == 100
    assert youtube["options"]["visibility"]["values"] == ["public", "private", "unlisted"]
    instagram = describe("instagram")
    assert instagram["content_types"]["reel"] == {"video_required": True, "media_max": 1}
    assert describe("telegram")["limits"]["caption_max"] == 1024
    assert describe("pinterest")["options"]["link"] == {"type": "url"}
    assert describe("tiktok")["post_types"] == {"video": {"video_required": True}, "photo": {"videos_max": 0}}


def test_photo_options_are_platform_options() -> None:
    assert isinstance(parse_options("tiktok", TIKTOK_PHOTO), PlatformOptions)
