"""The retry policy: what it retries, how long it would wait, and Retry-After parsing. Never sleeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from tenacity import stop_after_attempt, wait_none

from creditsync.delivery.retry import default_retry_policy
from creditsync.exceptions import FatalError, RateLimitedError, RetriableError
from creditsync.http import parse_retry_after

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def failing(*errors: Exception) -> tuple[Callable[[], str], list[int]]:
    """A function that raises ``errors`` in turn, then returns "ok"; and its call counter."""
    calls = [0]

    def call() -> str:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]
        return "ok"

    return call, calls


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:59:00 GMT", 0.0),  # already past: retry now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retriable_errors_are_retried_until_success() -> None:
    waits: list[float] = []
    call, calls = failing(RetriableError("503"), RetriableError("reset"))
    assert default_retry_policy(sleep=waits.append)(call) == "ok"
    assert calls[0] == 3
    assert len(waits) == 2


@pytest.mark.parametrize("error", [FatalError("401"), ValueError("bug"), KeyError("x")])
def test_anything_but_retriable_is_raised_at_once(error: Exception) -> None:
    call, calls = failing(error)
    with pytest.raises(type(error)):
        default_retry_policy(sleep=lambda _: None)(call)
    assert calls[0] == 1


def test_exhausted_retries_reraise_the_last_retriable_error() -> None:
    call, calls = failing(*(RetriableError(f"try {n}") for n in range(10)))
    with pytest.raises(RetriableError, match="try 3"):
        default_retry_policy(max_attempts=4, sleep=lambda _: None)(call)
    assert calls[0] == 4


def test_retry_after_replaces_the_backoff() -> None:
    waits: list[float] = []
    call, _ = failing(RateLimitedError("429", retry_after=7.0))
    default_retry_policy(sleep=waits.append)(call)
    assert waits == [7.0]


def test_retry_after_is_capped_at_max_wait() -> None:
    waits: list[float] = []
    call, _ = failing(RateLimitedError("429", retry_after=3600.0))
    default_retry_policy(max_wait=30.0, sleep=waits.append)(call)
    assert waits == [30.0]


def test_without_retry_after_the_wait_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    waits: list[float] = []
    call, _ = failing(*(RateLimitedError("429", retry_after=None) for _ in range(7)))
    default_retry_policy(max_attempts=8, max_wait=10.0, sleep=waits.append)(call)
    for attempt, wait in enumerate(waits[:4], start=1):
        base = 0.5 * 2 ** (attempt - 1)
        assert base <= wait <= base + 1.0
    assert waits[-1] == 10.0


def test_copy_narrows_a_policy_without_changing_the_original() -> None:
    policy = default_retry_policy(max_attempts=6, sleep=lambda _: None)
    quick = policy.copy(stop=stop_after_attempt(2))
    call, calls = failing(*(RetriableError("down") for _ in range(10)))
    with pytest.raises(RetriableError):
        quick(call)
    assert calls[0] == 2
    call, calls = failing(*(RetriableError("down") for _ in range(3)))
    assert policy(call) == "ok"


def test_copy_with_wait_none_never_waits() -> None:
    waits: list[float] = []
    policy = default_retry_policy(sleep=waits.append).copy(wait=wait_none())
    call, _ = failing(RateLimitedError("429", retry_after=20.0), RetriableError("502"))
    assert policy(call) == "ok"
    assert waits == [0.0, 0.0]


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        default_retry_policy(max_attempts=0)
