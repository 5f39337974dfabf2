"""What the HTTP library logs about our requests, made safe to keep.

httpx2 logs every request at INFO as `HTTP Request: METHOD URL "HTTP/1.1 STATUS REASON"`. Two
things must not reach a log that way: the query of a presigned upload URL (its signature is the
credential that lets anyone write to that storage key), and the API key, should Late ever echo it
in a reason phrase. One filter on the `httpx2` logger rewrites such records; requests to the API
keep their query (profile ids and the like help when reading logs).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx2

SIGNATURE_REMOVED = "[query removed]"


class _HttpLogScrub(logging.Filter):
    def __init__(self) -> None:
        super().__init__("httpx2")
        self.secrets: set[str] = set()
        self.api_prefixes: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(self._clean(arg) for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = self._clean(record.msg)
        return True

    def _clean(self, arg: Any) -> Any:
        if isinstance(arg, httpx2.URL):
            if arg.query and not any(str(arg).startswith(p) for p in self.api_prefixes):
                return str(arg.copy_with(query=None)) + "?" + SIGNATURE_REMOVED
            arg = str(arg)
        if isinstance(arg, str):
            for secret in self.secrets:
                arg = arg.replace(secret, "[redacted]")
        return arg


_FILTER = _HttpLogScrub()


def redact_in_http_logs(api_key: str | None, base_url: str) -> None:
    """Make httpx2's request log lines safe for this client's key and API base URL."""
    if api_key and len(api_key) >= 8:
        _FILTER.secrets.add(api_key)
    _FILTER.api_prefixes.add(base_url.rstrip("/") + "/")
    logger = logging.getLogger("httpx2")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
