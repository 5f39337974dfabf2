"""What reaches a log, made safe to keep: no API key in any form, no presigned URL's signature.

Logging filters set on a logger see only the records logged on that very logger, not those of its
children (`httpcore2.http11`, `uvicorn.error`) or of other libraries. So the key is taken out by
a filter on the handlers late-mcp installs: the stderr handler (`stderr_handler`, the only one:
uvicorn is started without its own logging set-up, so its records come here too) and the handler
that forwards records to the client (server/clientlog.py). `LogScrub` rewrites every record passing
through such a handler in place: the formatted message (arguments merged in), the exception
text and the stack; later handlers then see the scrubbed record too.

The secrets are registered process-wide with `protect()` (the Late client registers its key; the
command line registers LATE_API_KEY and LATE_MCP_TOKEN at start), and every handler filter uses the
one `KeyScrubber` built from them: the key whole, any 12 or more characters of its secret part in
any case, and its base64 forms (late/keyscrub.py).

httpx2 logs every request at INFO as `HTTP Request: METHOD URL "HTTP/1.1 STATUS REASON"`. The query
of a presigned upload URL is its credential (it lets anyone write to that storage key), so a
filter on the `httpx2` logger, which logs these lines itself, drops queries of URLs outside the
API; requests to the API keep theirs (profile ids and the like help when reading logs).
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

from late_mcp.late.keyscrub import KeyScrubber

SIGNATURE_REMOVED = "[query removed]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.Lock()
_secrets: set[str] = set()
_scrubber = KeyScrubber([])


def protect(*secrets: str | None) -> None:
    """Take these secrets (and their variants) out of every record the scrubbing handlers see."""
    global _scrubber
    fresh = {s for s in secrets if s} - _secrets
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        _scrubber = KeyScrubber(_secrets)


def scrub(text: str) -> str:
    """`text` without any protected secret, in any of its forms."""
    return _scrubber(text)


def scrub_record(record: logging.LogRecord) -> None:
    """Rewrite `record` in place so that neither its message, its arguments, its exception text
    nor its stack carries a protected secret."""
    scrubber = _scrubber
    if not scrubber:
        return
    broken = False
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep what can be shown of it
        message, broken = f"{record.msg} {record.args!r}", True
    clean = scrubber(message)
    if broken or clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text = scrubber(record.exc_text)
        if text != record.exc_text:  # the traceback objects would show it again: keep the text only
            record.exc_text, record.exc_info = text, None
    if record.stack_info:
        record.stack_info = scrubber(record.stack_info)


class LogScrub(logging.Filter):
    """A handler filter: every record the handler emits is scrubbed first (see scrub_record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


SCRUB = LogScrub()


def stderr_handler(stream: TextIO | None = None) -> logging.Handler:
    """The stderr handler late-mcp logs through, with the scrubbing filter on it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(SCRUB)
    return handler


def scrub_new_handlers(before: list[logging.Handler]) -> None:
    """Put the scrubbing filter on every root handler not in `before` (one a library just added)."""
    for handler in logging.getLogger().handlers:
        if handler not in before and SCRUB not in handler.filters:
            handler.addFilter(SCRUB)


class _HttpLogScrub(logging.Filter):
    def __init__(self) -> None:
        super().__init__("httpx2")
        self.api_prefixes: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(self._clean(arg) for arg in record.args)
        scrub_record(record)  # whichever handlers the record then meets
        return True

    def _clean(self, arg: Any) -> Any:
        import httpx2  # loaded by then (it logs these records); the command line starts without it

        if isinstance(arg, httpx2.URL):
            if arg.query and not any(str(arg).startswith(p) for p in self.api_prefixes):
                return str(arg.copy_with(query=None)) + "?" + SIGNATURE_REMOVED
            return str(arg)
        return arg


_FILTER = _HttpLogScrub()


def redact_in_http_logs(api_key: str | None, base_url: str) -> None:
    """Protect this client's key in every log, and make httpx2's request lines safe for its API
    base URL."""
    protect(api_key)
    _FILTER.api_prefixes.add(base_url.rstrip("/") + "/")
    logger = logging.getLogger("httpx2")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
