"""One error hierarchy for everything the Late client can run into.

Every error carries what a caller needs to act: the HTTP status (when there was a response),
the API's own `error` message, the request id, and a hint saying what to do next. None of them
ever carries the API key: messages are built from the response, never from the request headers.

An error is built once, with all its context, and never changed afterwards: code that learns more
(how often the request was sent, a better hint, that a lookup showed nothing happened) raises
`exc.with_context(...)`, a new error of the same class, `from exc`.
"""

from __future__ import annotations

from typing import Any, Self

from late_mcp.core.outside import quoted, word

MESSAGE_SHOWN = 300  # characters of Late's own message shown in an error's text (api_message keeps 500)


class LateError(Exception):
    """Base class: something went wrong talking to Late."""

    kind = "error"
    default_hint = "Try again later; if it keeps failing, check https://getlate.dev status."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        api_message: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        attempts: int = 1,
        confirmed_not_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.api_message = api_message
        self.request_id = request_id
        self.hint = hint or self.default_hint
        self.attempts = attempts  # how often the request was sent
        self.confirmed_not_applied = confirmed_not_applied  # a lookup after a lost answer found nothing

    def with_context(
        self,
        *,
        message: str | None = None,
        hint: str | None = None,
        attempts: int | None = None,
        confirmed_not_applied: bool | None = None,
    ) -> Self:
        """A new error of the same class with what was learnt since; raise it `from` this one."""
        fields = self._fields()
        if hint is not None:
            fields["hint"] = hint
        if attempts is not None:
            fields["attempts"] = attempts
        if confirmed_not_applied is not None:
            fields["confirmed_not_applied"] = confirmed_not_applied
        return type(self)(self.message if message is None else message, **fields)

    def _fields(self) -> dict[str, Any]:
        """The constructor's keyword arguments that build this error again (subclasses add theirs)."""
        return {
            "status": self.status,
            "api_message": self.api_message,
            "request_id": self.request_id,
            "hint": self.hint,
            "attempts": self.attempts,
            "confirmed_not_applied": self.confirmed_not_applied,
        }

    @property
    def retryable(self) -> bool:
        """Whether repeating the same request can succeed without changing anything."""
        return False

    def describe(self) -> str:
        """One paragraph for a model or a person: what happened, the API's words, what to do next."""
        parts = [self.message]
        if self.api_message:
            said = quoted(self.api_message, MESSAGE_SHOWN)  # Late's words may carry anyone's text
            if said not in self.message:
                parts.append(f"Late said: {said}")
        request = f"request {word(self.request_id)}" if self.request_id else ""
        if self.status is not None:
            parts.append(f"(HTTP {self.status}{', ' + request if request else ''})")
        elif request:
            parts.append(f"({request})")
        if self.attempts > 1:
            parts.append(f"Tried {self.attempts} times.")
        parts.append(self.hint)
        return " ".join(parts)


class LateAPIError(LateError):
    """Late answered with an error status."""


class AuthenticationError(LateAPIError):
    kind = "authentication"
    default_hint = (
        "The API key was refused. A Late API key starts with sk_ and has 67 characters; check "
        "LATE_API_KEY or create a new key at https://getlate.dev/dashboard/api-keys, then restart late-mcp."
    )


class PermissionDeniedError(LateAPIError):
    kind = "permission"
    default_hint = (
        "This key may not do that (plan limit or another user's resource); check the plan or the id."
    )


class NotFoundError(LateAPIError):
    kind = "not_found"
    default_hint = "Check the id: list the resources first (profiles_list, accounts_list, posts_list)."


class ConflictError(LateAPIError):
    kind = "conflict"
    default_hint = "The resource is busy or in a state that does not allow this; check it with a get tool."


class RequestValidationError(LateAPIError):
    kind = "validation"
    default_hint = (
        "Late rejected the request as invalid; fix the arguments named in Late's message and retry."
    )


class RateLimitedError(LateAPIError):
    kind = "rate_limited"
    default_hint = "Late's rate limit was reached; wait before sending more requests."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        if retry_after is not None and kwargs.get("hint") is None:
            kwargs["hint"] = f"Late's rate limit was reached; try again in {retry_after:g} seconds."
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "retry_after": self.retry_after}

    @property
    def retryable(self) -> bool:
        return True


class ServerError(LateAPIError):
    kind = "server"
    default_hint = "Late had an internal problem; try again in a minute."

    @property
    def retryable(self) -> bool:
        return True


class TransportError(LateError):
    """No usable answer arrived: connection refused, timeout, dropped connection.

    `outcome_unknown` is True when the request may have reached Late (it was sent, the answer was
    lost): a write in that state may have happened and must not be repeated blindly.
    """

    kind = "transport"
    default_hint = "Check the network connection and LATE_BASE_URL, then try again."

    def __init__(self, message: str, *, outcome_unknown: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.outcome_unknown = outcome_unknown

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "outcome_unknown": self.outcome_unknown}

    @property
    def retryable(self) -> bool:
        return True


class MalformedResponseError(LateError):
    """Late answered, but not with the JSON it promised (HTML error page, truncated body, wrong shape)."""

    kind = "malformed_response"
    default_hint = (
        "Late sent an unexpected answer; try again shortly, and check LATE_BASE_URL points at the API."
    )


_BY_STATUS: dict[int, type[LateAPIError]] = {
    400: RequestValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: RequestValidationError,
    429: RateLimitedError,
}


def error_class_for_status(status: int) -> type[LateAPIError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return LateAPIError
