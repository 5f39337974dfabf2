"""Fault mode for the sandbox: an httpx2 transport that injects network and API failures.

Wrap the sandbox's `ASGITransport` in a `FaultInjectingTransport` to answer some requests with
429s, 5xx errors, connection resets, slow or malformed responses, or a connection lost after the
request was applied, so tests and benchmarks can prove the client survives them.
"""

from __future__ import annotations

import collections
import json
import math
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, fields

import anyio
import httpx2

EXCLUSIVE = ("rate_limited", "server_error", "reset", "malformed", "lost")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ALIASES = {"429": "rate_limited", "5xx": "server_error"}
_KEYS = (
    "429|rate_limited, 5xx|server_error, reset, slow, malformed, lost, "
    "retry_after, slow_seconds, seed, methods ('+'-separated)"
)
_HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class FaultPlan:
    """How often each fault is injected (rates are probabilities per request, 0..1).

    At most one of the exclusive faults (`EXCLUSIVE`) hits a request; `slow` is drawn on its own
    and can combine with them. A slow response past the request's read timeout raises ReadTimeout.
    """

    rate_limited: float = 0.0
    server_error: float = 0.0
    reset: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    lost: float = 0.0
    retry_after: float = 0.05
    slow_seconds: float = 0.2
    seed: int | None = None
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

    def __post_init__(self) -> None:
        for name in (*EXCLUSIVE, "slow"):
            rate = getattr(self, name)
            if not (isinstance(rate, int | float) and 0.0 <= rate <= 1.0):
                raise ValueError(f"fault rate {name} must be a number within 0..1 (got {rate!r})")
        if self.total > 1.0 + 1e-9:
            raise ValueError(
                f"the exclusive fault rates ({', '.join(EXCLUSIVE)}) must sum to at most 1 "
                f"(got {self.total:g})"
            )
        for name in ("retry_after", "slow_seconds"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0 (got {value!r})")
        methods = frozenset(m.upper() for m in self.methods)
        if not methods or not methods <= KNOWN_METHODS:
            allowed = "+".join(sorted(KNOWN_METHODS))
            raise ValueError(f"methods must be one or more of {allowed} (got {'+'.join(sorted(methods))!r})")
        object.__setattr__(self, "methods", methods)

    @property
    def total(self) -> float:
        """The sum of the exclusive fault rates (at most one of them hits a given request)."""
        return float(sum(getattr(self, name) for name in EXCLUSIVE))

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse "429=0.05,5xx=0.05,reset=0.05,slow=0.05,...,seed=7,methods=POST+PUT"."""
        known = {f.name for f in fields(cls)}
        values: dict[str, object] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key, sep, raw = (s.strip() for s in item.partition("="))
            name = _ALIASES.get(key.lower(), key.lower())
            if not sep or not raw:
                raise ValueError(f"fault spec item {item!r} must look like key=value; keys: {_KEYS}")
            if name not in known:
                raise ValueError(f"unknown fault spec key {key!r}; allowed keys: {_KEYS}")
            if name in values:
                raise ValueError(f"fault spec key {key!r} is given more than once")
            values[name] = _parse_value(name, key, raw)
        return cls(**values)  # type: ignore[arg-type]


def _parse_value(name: str, key: str, raw: str) -> object:
    if name == "methods":
        return frozenset(m.strip().upper() for m in raw.split("+") if m.strip())
    if name == "seed":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"fault spec seed must be a whole number (got {raw!r})") from None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"fault spec {key} must be a number (got {raw!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"fault spec {key} must be a finite number (got {raw!r})")
    return value


class _Body(httpx2.AsyncByteStream):
    """A response body that streams like a real transport's (not pre-read), so `.elapsed` works."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def _response(status: int, headers: Mapping[str, str], body: bytes, content_type: str) -> httpx2.Response:
    extra = {"content-type": content_type, "content-length": str(len(body))}
    return httpx2.Response(status, headers={**headers, **extra}, stream=_Body(body))


class FaultInjectingTransport(httpx2.AsyncBaseTransport):
    """Wraps `inner`, injecting the faults of `plan` into requests under `path_prefix`.

    `counts` tallies what happened: one key per fault kind, "passed" for untouched requests.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport, plan: FaultPlan, *, path_prefix: str = "/api/v1/"):
        self.inner = inner
        self.plan = plan
        self.path_prefix = path_prefix
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(plan.seed)

    def _draw(self, request: httpx2.Request) -> tuple[str | None, bool]:
        """The exclusive fault for this request (or None) and whether to also delay it."""
        if request.method not in self.plan.methods or not request.url.path.startswith(self.path_prefix):
            return None, False
        draw, slow_draw = self._rng.random(), self._rng.random()
        fault, edge = None, 0.0
        for name in EXCLUSIVE:
            edge += getattr(self.plan, name)
            if draw < edge:
                fault = name
                break
        return fault, slow_draw < self.plan.slow

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        fault, slow = self._draw(request)
        for name in (fault, "slow" if slow else None):
            if name:
                self.counts[name] += 1
        if not fault and not slow:
            self.counts["passed"] += 1
        headers = (
            {"x-request-id": request.headers["x-request-id"]} if "x-request-id" in request.headers else {}
        )
        if slow and fault in ("reset", "rate_limited", "server_error"):
            await anyio.sleep(self.plan.slow_seconds)
        if fault == "reset":
            raise httpx2.ConnectError("connection reset (injected)", request=request)
        if fault == "rate_limited":
            headers |= {"Retry-After": f"{self.plan.retry_after:g}", "X-RateLimit-Remaining": "0"}
            body = {"error": "Rate limit exceeded (injected); retry after the Retry-After delay"}
            return _response(429, headers, json.dumps(body).encode(), "application/json")
        if fault == "server_error":
            status = self._rng.choice((500, 502, 503, 504))
            body = {"error": f"Upstream failure (injected {status})"}
            return _response(status, headers, json.dumps(body).encode(), "application/json")
        response = await self.inner.handle_async_request(request)
        if slow:
            await self._delay(request, response)
        if fault not in ("malformed", "lost"):
            return response
        try:
            content = await response.aread()  # let the app finish its work before the fault
        finally:
            await response.aclose()
        if fault == "lost":
            raise httpx2.ReadError("connection lost after the request was sent (injected)", request=request)
        kept = {k: v for k, v in response.headers.items() if k.lower().startswith("x-")} | headers
        if self._rng.random() < 0.5:
            return _response(200, kept, _HTML_PAGE, "text/html; charset=utf-8")
        return _response(200, kept, content[: len(content) // 2], "application/json")

    async def _delay(self, request: httpx2.Request, response: httpx2.Response) -> None:
        """Hold a handled response back; past the request's read timeout, time out like a real network."""
        timeout = request.extensions.get("timeout", {}).get("read")
        if timeout is None or timeout >= self.plan.slow_seconds:
            await anyio.sleep(self.plan.slow_seconds)
            return
        await anyio.sleep(timeout)
        await response.aclose()
        raise httpx2.ReadTimeout("response too slow (injected)", request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


__all__ = ["FaultInjectingTransport", "FaultPlan"]
