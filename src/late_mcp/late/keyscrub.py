"""Find a secret (the Late API key) in any text, in every form it could take, and replace it.

An answer, a header or a log line may carry the key whole, cut short, in another case, or
base64-encoded (an echoed `Authorization` header is `Bearer sk_…` in base64). `KeyScrubber`
replaces, wherever they appear:

- the whole secret;
- any run of 12 or more characters of its secret part (after `sk_`), in any case;
- its base64 forms: of the secret part in lower and upper case, at each of the three byte
  alignments (so also inside the base64 of `Bearer <key>` or of a longer header), standard or
  URL-safe alphabet, wherever 16 or more characters (12 bytes of the secret) of them appear.

It is meant for the per-call path: everything is precomputed, and a text without a run of 12
letters, digits or `+/_-` is passed back after one regular-expression search.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
HEX_RUN = 12  # characters of the secret part that identify it
B64_RUN = 16  # base64 characters that identify it (12 bytes of the secret part)
_PROBE_HEX = HEX_RUN // 2  # probes at this stride find every HEX_RUN match (see _hits)
_PROBE_B64 = B64_RUN // 2
_CANDIDATE = re.compile(rf"[A-Za-z0-9+/_-]{{{HEX_RUN},}}+")  # possessive: no backtracking into a run
_URLSAFE_TO_STD = str.maketrans("-_", "+/")
MIN_SECRET = 8  # shorter values are not treated as secrets (they would match ordinary text)
SEEN_MAX = 4096


def secret_part(secret: str) -> str:
    """The random part of a key: what follows `sk_` (the whole value for other secrets)."""
    return secret[3:] if secret[:3].lower() == "sk_" else secret


def _grams(texts: Iterable[str], size: int) -> frozenset[str]:
    return frozenset(t[i : i + size] for t in texts for i in range(len(t) - size + 1))


def base64_cores(data: bytes) -> list[str]:
    """The part of base64(data) that is the same wherever `data` sits in a longer input: for each
    of the 3 byte alignments, the encoding without the groups it shares with what comes before
    or after."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        start = 4 if shift else 0
        end = len(encoded) if (shift + len(data)) % 3 == 0 else len(encoded) - 4
        cores.append(encoded[start:end])
    return cores


class KeyScrubber:
    """Replaces the given secrets, and the variants listed in the module docstring, by `[redacted]`."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        kept = {s for s in secrets if s and len(s) >= MIN_SECRET}
        self.secrets = tuple(sorted(kept, key=len, reverse=True))
        parts = [secret_part(s) for s in self.secrets]
        lowered = [p.lower() for p in parts if len(p) >= HEX_RUN]
        self._text_grams = _grams(lowered, HEX_RUN)
        self._text_probes = _grams(lowered, _PROBE_HEX)
        cores = [
            core
            for p in parts
            for form in {p.lower(), p.upper(), p}
            for core in base64_cores(form.encode("utf-8", "replace"))
        ]
        self._b64_grams = _grams(cores, B64_RUN)
        self._b64_probes = _grams(cores, _PROBE_B64)
        self._seen: dict[str, str | None] = {}  # run -> its cleaned form (None: nothing in it)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __call__(self, text: str) -> str:
        """`text` with every variant of the secrets replaced; the same object when none is in it."""
        if not self.secrets or len(text) < MIN_SECRET:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if len(text) < HEX_RUN or not (self._text_grams or self._b64_grams):
            return text
        pieces: list[str] = []
        done = 0
        seen = self._seen
        for match in _CANDIDATE.finditer(text):
            run = match.group()
            if run in seen:
                cleaned = seen[run]
            else:
                cleaned = self._clean_run(run)
                if len(seen) >= SEEN_MAX:  # ids and the like repeat: remember runs, within bounds
                    seen.clear()
                seen[run] = cleaned
            if cleaned is not None:
                pieces += [text[done : match.start()], cleaned]
                done = match.end()
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)

    def _clean_run(self, run: str) -> str | None:
        """The run with the secrets' forms replaced; None when it holds none."""
        lowered = run.lower()
        spans = _hits(lowered, self._text_probes, self._text_grams, HEX_RUN)
        if self._b64_grams and len(run) >= B64_RUN:
            spans += _hits(run.translate(_URLSAFE_TO_STD), self._b64_probes, self._b64_grams, B64_RUN)
        if not spans:
            return None
        spans.sort()
        pieces: list[str] = []
        done = 0
        for start, end in spans:
            if pieces and start <= done:  # overlaps or touches the span just redacted
                done = max(done, end)
                continue
            if start - 3 >= done and lowered[start - 3 : start] == "sk_":
                start -= 3  # `sk_` + redacted reads as one redacted key
            pieces += [run[done:start], REDACTED]
            done = end
        pieces.append(run[done:])
        return "".join(pieces)


def _hits(run: str, probes: frozenset[str], grams: frozenset[str], size: int) -> list[tuple[int, int]]:
    """Where in `run` substrings of at least `size` characters of a secret form occur.

    A match of `size` characters contains a whole window of `size // 2` characters starting at a
    multiple of `size // 2`, so those few windows are looked up first and the run is scanned
    character by character only when one of them belongs to a secret."""
    step = size // 2
    for i in range(0, len(run) - step + 1, step):
        if run[i : i + step] in probes:
            return [(i, i + size) for i in range(len(run) - size + 1) if run[i : i + size] in grams]
    return []
