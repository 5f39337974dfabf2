"""Errors are built once with all their context: nothing in src/ changes an exception afterwards.

Code that learns more about a failure (how often the request was sent, a better hint, that a
lookup showed nothing happened) raises `exc.with_context(...)`, a new error, `from exc`.
"""

from __future__ import annotations

import ast
import inspect
import socket
import textwrap
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path

import anyio
import httpx2
import pytest

import late_mcp
from conftest import make_settings
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError, RateLimitedError, ServerError, TransportError
from late_mcp.late.retry import call_deadline
from late_mcp.safety.once import StillCreating
from late_mcp.safety.records import JournalError
from late_mcp.safety.redis_journal import RedisJournal
from late_mcp.safety.sqlite_journal import Journal

pytestmark = pytest.mark.anyio
SRC = Path(late_mcp.__file__).parent
MUTATING_METHODS = {"add_note", "with_traceback"}


def _rooted_at(node: ast.expr, names: set[str]) -> bool:
    """Whether `node` is an attribute (or item) of one of `names`: exc.hint, exc.args[0], ..."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
        if isinstance(node, ast.Name) and node.id in names:
            return True
    return False


def _changes(body: list[ast.stmt], names: set[str]) -> Iterator[ast.AST]:
    """Statements in `body` that change an object named in `names`."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                flat = [t for target in targets for t in ast.walk(target) if isinstance(t, ast.expr)]
                if any(_rooted_at(t, names) for t in flat):
                    yield node
            elif isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Name)
                    and func.id in {"setattr", "delattr"}
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and node.args[0].id in names
                ):
                    yield node
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in MUTATING_METHODS
                    and isinstance(func.value, ast.Name)
                    and func.value.id in names
                ):
                    yield node


def _is_exception_annotation(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation)
    return any(part.strip().endswith(("Error", "Exception")) for part in text.split("|"))


def _exception_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """Names of the classes in src/ that are exceptions (by their bases, followed through src/)."""
    bases: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [ast.unparse(b).split(".")[-1] for b in node.bases]
    known = {"Exception", "BaseException", "ValueError", "RuntimeError", "OSError", "KeyError"}

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name in known or name.endswith(("Error", "Exception")):
            return True
        return name not in seen and any(is_exception(b, seen | {name}) for b in bases.get(name, []))

    return {name for name in bases if is_exception(name)}


def exception_changes(source: str, exception_classes: AbstractSet[str] = frozenset()) -> list[str]:
    """Every place in `source` where an exception object is changed after it was built:
    in an `except ... as exc:` block, in a function given an error as a parameter, in an
    exception class's methods other than `__init__`, and a kept error (`raise self.failure`)
    raised again."""
    tree = ast.parse(source)
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Attribute):
            found.append(node)  # a kept error raised again: each raise changes its traceback
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found += _changes(node.body, {node.name})
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            errors = {p.arg for p in params if _is_exception_annotation(p.annotation)}
            if errors:
                found += _changes(node.body, errors)
        elif isinstance(node, ast.ClassDef) and node.name in exception_classes:
            for method in node.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) and method.name != "__init__":
                    found += _changes(method.body, {"self"})
    return sorted({f"line {getattr(n, 'lineno', 0)}: {ast.unparse(n).splitlines()[0]}" for n in found})


def test_no_exception_is_changed_after_it_was_built() -> None:
    trees = {path: ast.parse(path.read_text()) for path in sorted(SRC.rglob("*.py"))}
    classes = _exception_classes(trees)
    assert {"LateError", "StillCreating", "ToolInputError", "JournalError"} <= classes
    changed = {
        str(path.relative_to(SRC)): where
        for path in trees
        if (where := exception_changes(path.read_text(), classes))
    }
    assert changed == {}, "raise exc.with_context(...) from exc instead of changing exc"


@pytest.mark.parametrize(
    "source",
    [
        "try:\n    f()\nexcept LateError as exc:\n    exc.hint = 'x'\n    raise\n",
        "try:\n    f()\nexcept LateError as exc:\n    exc.attempts += 1\n",
        "try:\n    f()\nexcept ValueError as exc:\n    setattr(exc, 'hint', 'x')\n",
        "try:\n    f()\nexcept ValueError as exc:\n    exc.add_note('x')\n",
        "try:\n    f()\nexcept ValueError as exc:\n    exc.args = ()\n",
        "try:\n    f()\nexcept ValueError as exc:\n    def inner():\n        exc.hint = 1\n",
        "def hint(exc: LateAPIError) -> LateAPIError:\n    exc.hint = 'x'\n    return exc\n",
        "def hint(exc: LateError | None) -> None:\n    exc.message, x = 'x', 1\n",
        "class E(LateError):\n    def mark(self) -> None:\n        self.confirmed = True\n",
        "def check(self) -> None:\n    if self._failure is not None:\n        raise self._failure\n",
    ],
)
def test_the_check_finds_a_changed_exception(source: str) -> None:
    assert exception_changes(source, {"E", "LateError"})


def test_the_check_lets_constructors_and_new_errors_be() -> None:
    source = (
        "class E(LateError):\n    def __init__(self) -> None:\n        self.hint = 'x'\n"
        "try:\n    f()\nexcept LateError as exc:\n    new = exc.with_context(hint='x')\n"
        "    raise new from exc\n"
    )
    assert exception_changes(source, {"E", "LateError"}) == []


def _all_late_errors(cls: type[LateError] = LateError) -> Iterator[type[LateError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _all_late_errors(sub)


LATE_ERRORS = sorted(set(_all_late_errors()), key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", LATE_ERRORS)
def test_with_context_is_a_new_error_of_the_same_class_and_the_old_one_stays(cls: type[LateError]) -> None:
    extra: dict[str, object] = {}
    if issubclass(cls, TransportError):
        extra["outcome_unknown"] = True
    if issubclass(cls, RateLimitedError):
        extra["retry_after"] = 7.0
    old = cls("Late refused GET /v1/x: 'no'.", status=418, api_message="no", request_id="req-1", **extra)  # type: ignore[arg-type]
    assert StillCreating in LATE_ERRORS  # the subclasses outside late/ are covered too
    hint_before = old.hint
    new = old.with_context(hint="Do this next.", attempts=3, confirmed_not_applied=True)
    assert type(new) is cls and new is not old
    assert (new.message, new.status, new.api_message, new.request_id) == (old.message, 418, "no", "req-1")
    assert (new.hint, new.attempts, new.confirmed_not_applied) == ("Do this next.", 3, True)
    assert (old.hint, old.attempts, old.confirmed_not_applied) == (hint_before, 1, False)
    for name, value in extra.items():
        assert getattr(new, name) == value
    assert old.with_context(message="Other words.").message == "Other words."
    assert old.with_context().describe() == old.describe()


async def test_the_client_reports_retries_on_a_new_error_and_leaves_late_s_answer_as_built() -> None:
    sent: list[httpx2.Request] = []

    def busy(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(503, json={"error": "busy"}, headers={"X-Request-Id": f"req-{len(sent)}"})

    async with LateClient(make_settings(), transport=httpx2.MockTransport(busy)) as client:
        with pytest.raises(ServerError) as caught:
            await client.list_profiles()
    reported, answer = caught.value, caught.value.__cause__
    assert len(sent) == 6 and reported.attempts == 6 and "Tried 6 times." in reported.describe()
    assert isinstance(answer, ServerError) and answer is not reported
    assert answer.attempts == 1 and "Tried" not in answer.describe()
    assert reported.request_id == answer.request_id == "req-6"


NESTED_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def test_a_request_builds_no_retry_machinery_of_its_own() -> None:
    """The stop rule, the wait and the logging hook are built once per client, not per request."""
    source = textwrap.dedent(inspect.getsource(LateClient.request))
    request = ast.parse(source).body[0]
    assert isinstance(request, ast.AsyncFunctionDef)
    built = [
        f"line {node.lineno}: {type(node).__name__}"
        for node in ast.walk(request)
        if node is not request
        and isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
    ]
    assert built == []


async def test_requests_sharing_one_client_keep_their_own_retries_and_deadlines() -> None:
    """Concurrent requests on one client's retry policy: each stops by its own deadline (the tool
    call's, read from the context variable), is sent again by its own rule (a read after a 503,
    a write not) and counts its own sends."""
    scripts: dict[str, list[int]] = {
        "waits": [429, 200],  # Retry-After 30: past this call's deadline, so no second send
        "down": [503] * 10,
        "profiles": [502, 201],  # the write (POST /v1/profiles): it may have landed, never resent
        **{f"flaky{i}": [503, 503, 200] for i in range(5)},
    }
    sent: dict[str, int] = {name: 0 for name in scripts}

    def answer(request: httpx2.Request) -> httpx2.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        status = scripts[name][sent[name]]
        sent[name] += 1
        if status == 200:
            return httpx2.Response(200, json={"profile": {"_id": name, "name": name}})
        return httpx2.Response(
            status, json={"error": "not now"}, headers={"Retry-After": "30" if status == 429 else "0"}
        )

    results: dict[str, object] = {}

    async def create(client: LateClient) -> None:
        try:
            results["profiles"] = (await client.create_profile({"name": "new"})).id
        except LateError as exc:
            results["profiles"] = exc

    async def get(client: LateClient, name: str, deadline: float | None = None) -> None:
        try:
            if deadline is None:
                results[name] = (await client.get_profile(name)).id
            else:
                with call_deadline(deadline):
                    results[name] = (await client.get_profile(name)).id
        except LateError as exc:
            results[name] = exc

    async with (
        LateClient(make_settings(call_deadline=60.0), transport=httpx2.MockTransport(answer)) as client,
        anyio.create_task_group() as tasks,
    ):
        tasks.start_soon(get, client, "waits", 1.0)
        tasks.start_soon(get, client, "down")
        for i in range(5):
            tasks.start_soon(get, client, f"flaky{i}")
        tasks.start_soon(create, client)
    waited, down, written = results.pop("waits"), results.pop("down"), results.pop("profiles")
    assert isinstance(written, ServerError) and written.attempts == 1 and sent["profiles"] == 1
    assert isinstance(waited, RateLimitedError) and waited.attempts == 1 and sent["waits"] == 1
    assert "try again in 30 seconds" in waited.describe()
    assert isinstance(down, ServerError) and down.attempts == 6 and sent["down"] == 6
    assert results == {f"flaky{i}": f"flaky{i}" for i in range(5)}
    assert all(sent[f"flaky{i}"] == 3 for i in range(5))


def _frames(exc: BaseException) -> int:
    count, tb = 0, exc.__traceback__
    while tb is not None:
        count, tb = count + 1, tb.tb_next
    return count


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_broken_journal_refuses_every_caller_with_a_new_error(backend: str, tmp_path: Path) -> None:
    """The error that broke the journal is kept, not raised again: every later caller (here 20 at
    once) gets a new error saying the same, from it, and the kept one stays as it was raised."""
    journal: Journal | RedisJournal
    if backend == "sqlite":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the journal's folder should be")
        journal = Journal(blocker / "journal.sqlite3")
    else:
        with socket.socket() as probe:  # a loopback port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        journal = RedisJournal(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(JournalError, match="a test write") as broke:
        await journal.check()
    kept = journal.failure
    assert kept is broke.value
    frames = _frames(kept)
    refusals: list[JournalError] = []

    async def refused() -> None:
        with pytest.raises(JournalError) as refusal:
            await journal.recent()
        refusals.append(refusal.value)

    async with anyio.create_task_group() as tasks:
        for _ in range(20):
            tasks.start_soon(refused)
    await journal.aclose()
    assert len({id(r) for r in refusals}) == 20 and kept not in refusals
    assert all(str(r) == str(kept) and r.__cause__ is kept for r in refusals)
    assert _frames(kept) == frames
