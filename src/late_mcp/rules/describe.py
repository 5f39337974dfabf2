"""One platform's rules and options, compact enough to hand to a model on request."""

from __future__ import annotations

from dataclasses import asdict
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from late_mcp.rules.options import OPTION_MODELS, URL_PATTERN
from late_mcp.rules.parse import platform_rules
from late_mcp.rules.table import Limits


def describe(platform: str) -> dict[str, Any]:
    """Limits, content types, required options and every option key with its type and values."""
    rules = platform_rules(platform)
    required = {key: r for r in rules.required_options for key in r.keys}
    options: dict[str, dict[str, Any]] = {}
    for key, info in OPTION_MODELS[rules.platform].model_fields.items():
        entry = _field(info)
        if key in required:
            only_for = required[key].only_for
            entry["required"] = f"{only_for} posts" if only_for else True
        options[key] = entry
    out: dict[str, Any] = {"platform": rules.platform, "name": rules.name, "limits": _limits(rules.base)}
    if rules.gif != "image":
        out["gif"] = {
            "video": "counts as a video",
            "alone": "must be the only media item",
            "refused": "not accepted",
        }[rules.gif]
    # Each variant's own limits; the others hold as in "limits".
    if rules.variant_by == "content_type":
        out["content_types"] = {name: _limits(limits) for name, limits in rules.variants.items()}
        out["default_content_type"] = rules.default_variant
    elif rules.variant_by == "media":
        out["post_types"] = {name: _limits(limits) for name, limits in rules.variants.items()}
    out["options"] = options
    out["notes"] = list(rules.notes)
    out["rules"] = rule_count(rules.platform)
    return out


def rule_count(platform: str) -> int:
    """How many rules the table holds for `platform`."""
    return len(platform_rules(platform).rule_ids())


def _limits(limits: Limits) -> dict[str, Any]:
    return {key: value for key, value in asdict(limits).items() if value is not None}


def _field(info: FieldInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": _type_name(info.annotation)}
    values = _literal_values(info.annotation)
    if values:
        entry["values"] = values
    for meta in info.metadata:
        for attr, label in (("max_length", "max"), ("ge", "min"), ("le", "max")):
            if getattr(meta, attr, None) is not None:
                entry[label] = getattr(meta, attr)
    if info.description:
        entry["note"] = info.description
    return entry


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        constraints = [m for meta in args[1:] for m in (meta, *getattr(meta, "metadata", ()))]
        is_url = any(getattr(m, "pattern", None) == URL_PATTERN for m in constraints)
        return "url" if is_url else _type_name(args[0])
    if origin is Literal:
        return "enum"
    if origin is list:
        return f"list[{_type_name(args[0])}]"
    if origin in (Union, UnionType):
        return _type_name(next(a for a in args if a is not type(None)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _literal_values(annotation: Any) -> list[Any]:
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    for arg in get_args(annotation):
        found = _literal_values(arg)
        if found:
            return found
    return []
