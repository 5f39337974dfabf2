"""Reading a caller's options for one platform, with errors short enough to act on."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from late_mcp.core.platforms import PLATFORMS, normalize_platform
from late_mcp.rules.options import OPTION_MODELS, URL_PATTERN, PlatformOptions
from late_mcp.rules.table import RULES, PlatformRules

# Keys people bring from Late's wire form that mean something else here.
_HINTS: dict[str, str] = {
    "threadItems": "use 'thread': a list of follow-up post texts (the main text is the first post)",
    "thread_items": "use 'thread': a list of follow-up post texts (the main text is the first post)",
}
_TIKTOK_WRAPPERS = ("tiktokSettings", "tiktok_settings")


class OptionsError(ValueError):
    """Options a platform does not accept; the text names the platform, the key and what is allowed."""


def platform_rules(platform: str) -> PlatformRules:
    """The table entry for `platform` (Late's name or a common alias such as 'x')."""
    name = normalize_platform(platform)
    if name is None:
        raise OptionsError(f"Unknown platform {_short(platform)}; known: {', '.join(PLATFORMS)}.")
    return RULES[name]


def parse_options(platform: str, raw: Mapping[str, Any]) -> PlatformOptions:
    """`raw` checked against `platform`'s option model (snake_case or Late's camelCase keys)."""
    rules = platform_rules(platform)
    model = OPTION_MODELS[rules.platform]
    if not isinstance(raw, Mapping):
        raise OptionsError(f"{rules.name} options must be an object (got {type(raw).__name__}).")
    if rules.platform == "tiktok" and len(raw) == 1:
        inner = next((raw[k] for k in _TIKTOK_WRAPPERS if k in raw), None)
        if isinstance(inner, Mapping):  # Late's nesting, passed through as is
            raw = inner
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise _options_error(rules.name, model, exc) from None


def checked_options(platform: str, options: PlatformOptions) -> PlatformOptions:
    """`options` if they are `platform`'s kind; options meant for another platform are an OptionsError."""
    rules = platform_rules(platform)
    if type(options) is not OPTION_MODELS[rules.platform]:
        raise OptionsError(
            f"{type(options).__name__} are not {rules.name} options; "
            f"parse them with parse_options({rules.platform!r}, ...)."
        )
    return options


def _options_error(name: str, model: type[BaseModel], exc: ValidationError) -> OptionsError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc: tuple[int | str, ...] = tuple(first["loc"])
    key = _short(".".join(str(part) for part in loc), quote=False)
    more = f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = list(_model_at(model, loc[:-1]).model_fields)
        close = difflib.get_close_matches(str(loc[-1]), [*allowed, *_camel_names(model, loc[:-1])], n=1)
        hint = _HINTS.get(str(loc[-1])) or (f"did you mean {close[0]!r}?" if close else "")
        listed = ", ".join(allowed) if allowed else "none"
        text = f"Unknown {name} option {key!r}{' (' + hint + ')' if hint else ''}. Allowed keys: {listed}."
    elif kind == "literal_error":
        expected = first.get("ctx", {}).get("expected", "")
        text = f"{name} option {key!r} must be one of {expected}; got {_short(first['input'])}."
    elif kind == "missing":
        owner = _model_at(model, loc[:-1])
        text = f"{name} option {key!r} is required (keys here: {', '.join(owner.model_fields)})."
    elif kind == "string_pattern_mismatch" and first.get("ctx", {}).get("pattern") == URL_PATTERN:
        text = f"{name} option {key!r} must be an http(s) URL; got {_short(first['input'])}."
    elif not loc:
        text = f"{name} options: {first['msg'].removeprefix('Value error, ')}."
    else:
        text = f"{name} option {key!r}: {first['msg']}; got {_short(first['input'])}."
    return OptionsError(text + more)


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel]:
    """The (nested) model that holds the field at `loc`."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            break
        model = nested
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _camel_names(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    fields = _model_at(model, loc).model_fields
    return [f.alias for f in fields.values() if f.alias]


def _short(value: object, *, quote: bool = True, limit: int = 40) -> str:
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
