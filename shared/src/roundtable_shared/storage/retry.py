"""Retrying an optimistic write that found the aggregate changed by someone else.

Every change to an aggregate is read, decide, conditional write (``AggregateStore.update`` with
the version read). When another writer got there first the write matches nothing and the whole
attempt is run again on a fresh read. ``until_saved`` is the one place that loop lives: it stops
after a bounded number of attempts with a little jitter between them, and then raises
``StillStale``, so a caller never goes on as if the change had been applied. Over HTTP that is
a 409 problem (the client retries); in a consumer it is a failed delivery, redelivered later and
dead-lettered after the consumer's last attempt.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_result,
    stop_after_attempt,
    wait_random,
)

T = TypeVar("T")

ATTEMPTS = 10


class StillStale(Exception):
    """Every attempt found the aggregate changed meanwhile; this change was not written."""

    def __init__(self, what: str, attempts: int) -> None:
        super().__init__(f"{what} kept changing during {attempts} attempts; nothing was written")
        self.what = what
        self.attempts = attempts


def _stale(outcome: object) -> bool:
    return outcome is None


async def until_saved(
    attempt: Callable[[], Awaitable[T | None]],
    *,
    what: str = "the record",
    attempts: int = ATTEMPTS,
    max_wait: float = 0.02,
) -> T:
    """Run ``attempt`` until it returns something other than None (None means: stale, the
    conditional write matched nothing). ``attempt`` must read afresh each time it runs."""
    # Most writes land the first time: that attempt runs without the retry machinery, whose
    # set-up took a sixth of the CPU of a SCIM create's directory write (a CPU profile of the
    # first-sync benchmark, 2026-12-07), three times the domain's decision.
    first = await attempt()
    if first is not None:
        return first
    if attempts <= 1:
        raise StillStale(what, attempts)
    await asyncio.sleep(random.uniform(0, max_wait))  # noqa: S311 (jitter, not a secret)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts - 1),
        retry=retry_if_result(_stale),
        wait=wait_random(0, max_wait),
    )

    async def once() -> T | None:
        # A coroutine function of our own: tenacity runs a plain callable (such as a lambda
        # returning a coroutine) without awaiting what it returns.
        return await attempt()

    try:
        outcome: T | None = await retrying(once)
    except RetryError:
        raise StillStale(what, attempts) from None
    if outcome is None:  # not reached: retry_if_result lets only a saved outcome through
        raise StillStale(what, attempts)
    return outcome
