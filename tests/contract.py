"""OpenAPI request-contract checker for the test-suite.

Validates outgoing Late API requests (path, query, JSON body) against the Late OpenAPI 3.1 spec,
taken from the first place that has it: ``$LATE_OPENAPI_SPEC``, the shared copy at
``../shared/late-api/openapi.yaml``, else the registry package that ships it (the ``late-sdk==1.2.70``
source distribution, fetched once with ``pip download`` into ``.cache/late-openapi/``, which git
ignores; only ``openapi.yaml`` is read out of the archive, and its SHA-256 must match the pinned one).
The spec is never committed. When no place has it the checker is disabled and :func:`skip_reason`
says why, except in CI (``CI=true``), where a missing spec fails the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ENV_VAR = "LATE_OPENAPI_SPEC"
REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO.parent / "shared" / "late-api" / "openapi.yaml"  # the shared copy (read at each lookup)
_LAYOUT_SPEC = DEFAULT_SPEC
_DEFAULT_DISPLAY = "../shared/late-api/openapi.yaml"
# The registry package that ships the spec: its source distribution, and the one file read from it.
SDK_REQUIREMENT = "late-sdk==1.2.70"
SDK_ARCHIVE = "late_sdk-1.2.70.tar.gz"
SDK_MEMBER = "late_sdk-1.2.70/openapi.yaml"
SDK_SPEC_SHA256 = "136bb35f404f8bb9aca20cb6f72f98d1c807bd6ad2945b2d4c2f85ebce977e17"
SDK_SPEC_MAX_BYTES = 8 * 1024 * 1024
CACHE_DIR = REPO / ".cache" / "late-openapi"  # .gitignore: .cache/ (read at each lookup)
PIP_TIMEOUT = 600  # seconds for the whole download; pip's own socket timeout is shorter
_SPEC_URI = "urn:late-api:openapi"
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Every known format except the URI family (deliberately not strict). ``date-time`` is only enforced by
# jsonschema when rfc3339-validator is installed (a test dependency): naive datetimes are then rejected.
FORMAT_CHECKER = FormatChecker([f for f in FormatChecker.checkers if not f.startswith(("uri", "iri"))])


# Endpoints Late serves and documents (late-api-docs.md: the browser upload flow behind its MCP
# media tools) that openapi.yaml lacks; the spec has their answers' schemas (UploadTokenResponse,
# UploadTokenStatusResponse) but no paths. Rather than pass as unknown, they are checked by hand
# here: (method, path) -> (required query parameters, allowed query parameters), and no body.
UNSPECCED: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {
    ("POST", "/v1/media/upload-token"): (frozenset(), frozenset()),
    ("GET", "/v1/media/upload-token"): (frozenset({"token"}), frozenset({"token"})),
}

# Newer than the seed spec: post approval, as the current official SDK has it (zernio-sdk 1.4:
# `create_post(requires_approval=...)`, `review_post(post_id, decision)` -> POST
# /v1/posts/{postId}/review with {"decision": "approve"|"reject"}, post status `pending_approval`).
# `requiresApproval` on POST /v1/posts passes as it is (that body schema allows other fields); the
# review route is checked by hand (no query, exactly this body), and GET /v1/posts also accepts
# status=pending_approval.
UNSPECCED_TEMPLATES: dict[tuple[str, re.Pattern[str]], dict[str, Any]] = {
    ("POST", re.compile(r"/v1/posts/[A-Za-z0-9_-]+/review")): {
        "type": "object",
        "required": ["decision"],
        "properties": {"decision": {"enum": ["approve", "reject"]}},
        "additionalProperties": False,
    },
}
NEWER_QUERY_VALUES: dict[tuple[str, str, str], frozenset[str]] = {
    ("GET", "/v1/posts", "status"): frozenset({"pending_approval"}),
}


class ContractViolation(AssertionError):
    """A request does not conform to the Late OpenAPI spec."""


class SpecUnavailable(Exception):
    """The registry package could not give the spec; the message says why."""


@dataclass(frozen=True)
class SpecLookup:
    """Where the spec was found (``path``, and ``source`` in words), and why each earlier place was not it."""

    path: Path | None
    source: str
    tried: tuple[str, ...] = ()


def _shown(path: Path) -> str:
    return _DEFAULT_DISPLAY if path == _LAYOUT_SPEC else str(path)


def find_spec(path: Path | None = None) -> SpecLookup:
    """The spec: an explicit ``path`` (only that), else ``$LATE_OPENAPI_SPEC``, the shared copy
    (:data:`DEFAULT_SPEC`), and the registry package (cached in :data:`CACHE_DIR`, downloaded
    when the cache lacks it)."""
    if path is not None:
        given = Path(path)
        if given.is_file():
            return SpecLookup(given, "the given path")
        return SpecLookup(None, "", (f"{given} not found",))
    tried: list[str] = []
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if Path(env).is_file():
            return SpecLookup(Path(env), ENV_VAR)
        tried.append(f"{ENV_VAR}={env} not found")
    if DEFAULT_SPEC.is_file():
        return SpecLookup(DEFAULT_SPEC, "the shared copy", tuple(tried))
    tried.append(f"{_shown(DEFAULT_SPEC)} not found")
    found, why = _registry_spec(CACHE_DIR.resolve())
    if found is None:
        return SpecLookup(None, "", (*tried, why))
    return SpecLookup(found, why, tuple(tried))


@cache
def _registry_spec(cache_dir: Path) -> tuple[Path | None, str]:
    """Once per process and cache folder: (path, how it was had) or (None, why not)."""
    try:
        return registry_spec(cache_dir)
    except SpecUnavailable as exc:
        return None, str(exc)


def registry_spec(cache_dir: Path | None = None) -> tuple[Path, str]:
    """The spec from the ``late-sdk`` source distribution: the copy cached in ``cache_dir`` (default
    :data:`CACHE_DIR`) when it is intact, else ``pip download`` the archive into a temporary folder,
    read ``openapi.yaml`` out of it (nothing else is extracted), check its SHA-256 and keep only that
    file. Raises :class:`SpecUnavailable`."""
    target = (cache_dir or CACHE_DIR) / SDK_REQUIREMENT.replace("==", "-") / "openapi.yaml"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == SDK_SPEC_SHA256:
        return target, f"{SDK_REQUIREMENT} (cached in {target.parent})"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix="download-") as folder:
        data = _read_from_archive(_pip_download(Path(folder)))
        digest = hashlib.sha256(data).hexdigest()
        if digest != SDK_SPEC_SHA256:
            raise SpecUnavailable(
                f"{SDK_MEMBER} in the downloaded {SDK_REQUIREMENT} has SHA-256 {digest}, not the pinned "
                f"{SDK_SPEC_SHA256}; not used"
            )
        partial = Path(folder) / "openapi.yaml.partial"
        partial.write_bytes(data)
        os.replace(partial, target)  # whole or not at all, also with two runs at once
    return target, f"{SDK_REQUIREMENT} (downloaded to {target.parent})"


_URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def _pip_download(folder: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "--disable-pip-version-check", "--no-input", "--quiet", "--timeout", "30", "--retries", "2",
        "-d", str(folder), SDK_REQUIREMENT,
    ]  # fmt: skip
    why = f"pip download {SDK_REQUIREMENT} failed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpecUnavailable(f"{why}: {type(exc).__name__}") from exc
    archive = folder / SDK_ARCHIVE
    if done.returncode != 0 or not archive.is_file():
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        last = _URL_CREDENTIALS.sub("://***@", lines[-1])[:300] if lines else f"exit status {done.returncode}"
        raise SpecUnavailable(f"{why} (is the package registry reachable?): {last}")
    return archive


def _read_from_archive(archive: Path) -> bytes:
    """The bytes of ``SDK_MEMBER``, a regular file of bounded size, read without extracting anything."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(SDK_MEMBER)
            if not member.isfile() or member.size > SDK_SPEC_MAX_BYTES:
                raise SpecUnavailable(f"{SDK_MEMBER} in {SDK_ARCHIVE} is not a regular file of at most 8 MiB")
            stream = tar.extractfile(member)
            assert stream is not None, "a regular member has contents"
            with stream:
                return stream.read()
    except (KeyError, tarfile.TarError, OSError) as exc:
        raise SpecUnavailable(f"{SDK_ARCHIVE} holds no readable {SDK_MEMBER}: {exc}") from exc


def spec_path(path: Path | None = None) -> Path | None:
    """The spec's location (see :func:`find_spec`), or None when no place has it."""
    return find_spec(path).path


def skip_reason(path: Path | None = None) -> str | None:
    """None when the spec was found, else a human-readable reason the contract check is skipped."""
    lookup = find_spec(path)
    if lookup.path is not None:
        return None
    return "contract check skipped: " + "; ".join(lookup.tried)


_warned = False
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


class SpecMissingInCI(AssertionError):
    """CI must check the contract: a missing spec there fails the run instead of skipping it."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in TRUE_WORDS


def not_run(what: str, reason: str) -> None:
    """Skip a test that needs something this machine lacks, saying why; in CI, fail instead (the
    README's test command installs what the tests need)."""
    message = f"{what} not run: {reason}"
    print(message, file=sys.stderr)
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def missing_in_ci_reason(path: Path | None = None) -> str:
    reason = (skip_reason(path) or "contract check skipped").replace("contract check skipped: ", "")
    return (
        f"contract check required in CI (CI={os.environ.get('CI', '')}), but {reason}: provide Late's "
        f"OpenAPI spec at {_DEFAULT_DISPLAY}, set {ENV_VAR}, or let pip reach the package registry "
        f"(the spec is read from {SDK_REQUIREMENT})"
    )


def load_or_warn(path: Path | None = None) -> OpenAPIContract | None:
    """Load the contract; when the spec is missing, emit the skip reason as a warning once per process.
    In CI (``CI=true``) a missing spec raises :class:`SpecMissingInCI` instead."""
    global _warned
    contract = OpenAPIContract.load(path)
    if contract is None and in_ci():
        raise SpecMissingInCI(missing_in_ci_reason(path))
    if contract is None and not _warned:
        _warned = True
        warnings.warn(skip_reason(path) or "contract check skipped", UserWarning, stacklevel=2)
    return contract


def load_or_skip(path: Path | None = None) -> OpenAPIContract:
    """For tests that need the contract itself: skip without the spec, fail in CI."""
    import pytest

    contract = OpenAPIContract.load(path)
    if contract is None:
        if in_ci():
            pytest.fail(missing_in_ci_reason(path))
        pytest.skip(skip_reason(path) or "contract check skipped")
    return contract


def _transform(node: Any) -> Any:
    """Deep copy of the spec: ``oneOf`` -> ``anyOf`` (variants overlap), OpenAPI 3.0 ``nullable`` honoured."""
    if isinstance(node, list):
        return [_transform(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {("anyOf" if k == "oneOf" else k): _transform(v) for k, v in node.items()}
    if out.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media(content_type: str) -> bool:
    media = _media_type(content_type)
    return media == "application/json" or media.endswith("+json")


@dataclass
class _Param:
    name: str
    required: bool
    schema: dict[str, Any]
    validator: Draft202012Validator


@dataclass
class _Operation:
    params: dict[tuple[str, str], _Param]  # (in, name) -> param
    body_required: bool
    body_media: tuple[str, ...]
    body_validator: Draft202012Validator | None


@dataclass
class _Spec:
    spec: dict[str, Any]
    registry: Registry[Any]
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    operations: dict[tuple[str, str], _Operation] = field(default_factory=dict)

    def validator(self, pointer: str) -> Draft202012Validator:
        schema = {"$ref": f"{_SPEC_URI}#{pointer}"}
        return Draft202012Validator(schema, registry=self.registry, format_checker=FORMAT_CHECKER)

    def deref(self, obj: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        while "$ref" in obj:
            pointer = obj["$ref"].removeprefix("#")
            obj = self.spec
            for token in pointer.strip("/").split("/"):
                obj = obj[token.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    def match(self, url_path: str) -> tuple[str, dict[str, str]] | None:
        """Best template for ``url_path``: literal segments win over ``{params}``, leftmost first."""
        segments = url_path.split("/")
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for template, parts in self.templates.items():
            if len(parts) != len(segments):
                continue
            rank: list[int] = []
            values: dict[str, str] = {}
            for part, seg in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}") and seg:
                    rank.append(1)
                    values[part[1:-1]] = seg
                elif part == seg:
                    rank.append(0)
                else:
                    break
            else:
                if best is None or tuple(rank) < best[0]:
                    best = (tuple(rank), template, values)
        return None if best is None else (best[1], best[2])

    def operation(self, template: str, method: str) -> _Operation:
        key = (template, method)
        if key not in self.operations:
            item_ptr = f"/paths/{_escape(template)}"
            item = self.spec["paths"][template]
            op = item[method]
            params: dict[tuple[str, str], _Param] = {}
            raw = [(p, f"{item_ptr}/parameters/{i}") for i, p in enumerate(item.get("parameters", []))]
            op_ptr = f"{item_ptr}/{method}"
            raw += [(p, f"{op_ptr}/parameters/{i}") for i, p in enumerate(op.get("parameters", []))]
            for prm, ptr in raw:  # operation-level parameters override path-item ones
                prm, ptr = self.deref(prm, ptr)
                schema = prm.get("schema", {})
                required = bool(prm.get("required"))
                params[(prm["in"], prm["name"])] = _Param(
                    prm["name"], required, schema, self.validator(f"{ptr}/schema")
                )
            body_validator, media = None, ()
            body: dict[str, Any] = {}
            if "requestBody" in op:
                body, body_ptr = self.deref(op["requestBody"], f"{item_ptr}/{method}/requestBody")
                media = tuple(body.get("content", {}))
                if "schema" in body.get("content", {}).get("application/json", {}):
                    body_validator = self.validator(f"{body_ptr}/content/application~1json/schema")
            self.operations[key] = _Operation(params, bool(body.get("required")), media, body_validator)
        return self.operations[key]


@cache
def _load_spec(path: Path) -> _Spec:
    with path.open("rb") as fh:
        spec = _transform(yaml.load(fh, Loader=_Loader))
    registry: Registry[Any] = Registry().with_resource(
        _SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    loaded = _Spec(spec, registry)
    for template, item in spec.get("paths", {}).items():
        if isinstance(item, dict) and _METHODS & item.keys():
            loaded.templates[template] = tuple(template.split("/"))
    return loaded


_INT = re.compile(r"[+-]?\d+")


def _coerce(raw: str, schema: Mapping[str, Any]) -> object:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "integer":
        if not _INT.fullmatch(raw):
            raise ValueError(f"{raw!r} is not an integer")
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(f"{raw!r} is not a boolean (expected 'true' or 'false')")
        return raw == "true"
    return raw


class OpenAPIContract:
    """Checks requests against the spec; records what it checked and what the spec does not know."""

    def __init__(self, spec: _Spec) -> None:
        self._spec = spec
        self.checked: list[tuple[str, str]] = []
        self.unknown: list[tuple[str, str]] = []

    @classmethod
    def load(cls, path: Path | None = None) -> OpenAPIContract | None:
        found = spec_path(path)
        return None if found is None else cls(_load_spec(found.resolve()))

    def check_request(
        self,
        method: str,
        url_path: str,
        query: Mapping[str, list[str]] | Iterable[tuple[str, str]],
        body: object | None,
        content_type: str | None = None,
    ) -> str | None:
        """Validate one request; return the matched template, or None if the spec lacks path+method.

        ``body`` is the decoded JSON body (None: no body). For a non-JSON body pass ``content_type`` (and
        ``body=None``): only the media type is checked.
        """
        method = method.upper()
        found = self._spec.match(url_path)
        if found is None or method.lower() not in self._spec.spec["paths"][found[0]]:
            if (method, url_path) in UNSPECCED:
                return self._check_unspecced(method, url_path, query, body, content_type)
            for (known, pattern), schema in UNSPECCED_TEMPLATES.items():
                if known == method and pattern.fullmatch(url_path):
                    return self._check_unspecced_body(method, url_path, pattern, schema, query, body)
            self.unknown.append((method, url_path))
            return None
        template, path_values = found
        where = f"{method} {url_path} (spec: {template})"

        def fail(why: str) -> ContractViolation:
            return ContractViolation(f"{where}: {why}")

        op = self._spec.operation(template, method.lower())
        values: dict[str, list[str]] = {}
        items = query.items() if isinstance(query, Mapping) else [(k, [v]) for k, v in query]
        for name, vals in items:
            values.setdefault(name, []).extend(vals)
        for name in values:
            if ("query", name) not in op.params:
                known = sorted(n for (loc, n) in op.params if loc == "query")
                raise fail(f"unknown query parameter {name!r} (spec allows: {', '.join(known) or 'none'})")
        for (loc, name), prm in op.params.items():
            if loc == "path":
                supplied = [path_values[name]] if name in path_values else []
            elif loc == "query":
                supplied = values.get(name, [])
            else:
                continue  # headers/cookies are the client's business, not the request shape
            if not supplied:
                if prm.required:
                    raise fail(f"missing required {loc} parameter {name!r}")
                continue
            is_array = prm.schema.get("type") == "array"
            if len(supplied) > 1 and not is_array:
                raise fail(f"{loc} parameter {name!r} given {len(supplied)} times: {supplied}")
            newer = NEWER_QUERY_VALUES.get((method, template, name), frozenset())
            if loc == "query" and len(supplied) == 1 and supplied[0] in newer:
                continue  # a value newer than the spec (see NEWER_QUERY_VALUES)
            try:
                item_schema = prm.schema.get("items", {}) if is_array else prm.schema
                coerced = [_coerce(v, item_schema) for v in supplied]
            except ValueError as exc:
                raise fail(f"{loc} parameter {name!r}: {exc}") from None
            error = best_match(prm.validator.iter_errors(coerced if is_array else coerced[0]))
            if error is not None:
                raise fail(f"{loc} parameter {name!r}={supplied[0]!r}: {error.message}")
        self._check_body(op, body, content_type, fail)
        self.checked.append((method, template))
        return template

    def _check_unspecced(
        self,
        method: str,
        url_path: str,
        query: Mapping[str, list[str]] | Iterable[tuple[str, str]],
        body: object | None,
        content_type: str | None,
    ) -> str:
        """A request to an endpoint in UNSPECCED: its query parameters, and no body."""
        required, allowed = UNSPECCED[(method, url_path)]
        names = [name for name, _ in (query.items() if isinstance(query, Mapping) else query)]
        where = f"{method} {url_path} (not in the spec; see UNSPECCED)"
        if unknown := sorted(set(names) - allowed):
            raise ContractViolation(f"{where}: unknown query parameter(s) {unknown}")
        if missing := sorted(required - set(names)):
            raise ContractViolation(f"{where}: missing required query parameter(s) {missing}")
        if body is not None or content_type is not None:
            raise ContractViolation(f"{where}: takes no request body")
        self.checked.append((method, url_path))
        return url_path

    def _check_unspecced_body(
        self,
        method: str,
        url_path: str,
        pattern: re.Pattern[str],
        schema: dict[str, Any],
        query: Mapping[str, list[str]] | Iterable[tuple[str, str]],
        body: object | None,
    ) -> str:
        """A request to a route in UNSPECCED_TEMPLATES: no query, and a JSON body its schema takes."""
        names = [name for name, _ in (query.items() if isinstance(query, Mapping) else query)]
        where = f"{method} {url_path} (not in the spec; see UNSPECCED_TEMPLATES)"
        if names:
            raise ContractViolation(f"{where}: takes no query parameters (got {sorted(names)})")
        error = best_match(Draft202012Validator(schema).iter_errors(body))
        if error is not None:
            raise ContractViolation(f"{where}: request body {error.json_path!r}: {error.message}")
        self.checked.append((method, pattern.pattern))
        return pattern.pattern

    @staticmethod
    def _check_body(op: _Operation, body: object | None, content_type: str | None, fail: Any) -> None:
        if body is None and content_type is None:
            if op.body_required:
                raise fail(f"request body is required ({', '.join(op.body_media)}) but none was sent")
            return
        media = _media_type(content_type or "application/json")
        if not op.body_media:
            raise fail(f"spec defines no request body, but a {media} body was sent")
        if media not in op.body_media:
            raise fail(f"body media type {media!r} not accepted (spec: {', '.join(op.body_media)})")
        if op.body_validator is not None and media == "application/json":
            error = best_match(op.body_validator.iter_errors(body))
            if error is not None:
                raise fail(f"request body field {error.json_path!r}: {error.message}")


class ContractCheckingTransport(httpx2.AsyncBaseTransport):
    """Checks every ``{api_prefix}/v1/...`` request against the contract before delegating to ``inner``."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, contract: OpenAPIContract | None, api_prefix: str = "/api"
    ) -> None:
        self.inner = inner
        self.contract = contract
        self.api_prefix = api_prefix.rstrip("/")
        self.violations: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if self.contract is not None and path.startswith(self.api_prefix + "/v1/"):
            content_type = request.headers.get("content-type")
            body: object | None = None
            try:
                if content_type is not None and is_json_media(content_type):
                    raw = await request.aread()  # only JSON bodies: never consume streaming uploads
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError as exc:
                        msg = f"{request.method} {path}: request body is not valid JSON: {exc}"
                        raise ContractViolation(msg) from exc
                    content_type = None  # decoded (or empty: no body at all)
                self.contract.check_request(
                    request.method,
                    path[len(self.api_prefix) :],
                    request.url.params.multi_items(),
                    body,
                    content_type=content_type,
                )
            except ContractViolation as exc:
                self.violations.append(str(exc))
                raise
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
