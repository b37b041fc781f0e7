"""A program's seat lock: enrolments share it, a count of the holders has it alone."""

from __future__ import annotations

import asyncio

from enrollment.participants.service import SeatLock


async def test_enrolments_share_it_and_a_count_waits_for_them_and_holds_new_ones_back() -> None:
    lock = SeatLock()
    order: list[str] = []
    first_in = asyncio.Event()
    release_first = asyncio.Event()

    async def enrolment(name: str, hold: asyncio.Event | None = None) -> None:
        async with lock.shared():
            order.append(f"{name} in")
            if hold is not None:
                first_in.set()
                await hold.wait()
            order.append(f"{name} out")

    async def count() -> None:
        async with lock.exclusive():
            order.append("count in")
            await asyncio.sleep(0)
            order.append("count out")

    first = asyncio.create_task(enrolment("a", release_first))
    await first_in.wait()
    await enrolment("b")  # side by side with a
    counting = asyncio.create_task(count())
    await asyncio.sleep(0.01)
    late = asyncio.create_task(enrolment("c"))  # arrives while the count waits
    await asyncio.sleep(0.01)
    assert order == ["a in", "b in", "b out"]  # the count waits for a; c waits for the count
    release_first.set()
    await asyncio.gather(first, counting, late)
    assert order[3:] == ["a out", "count in", "count out", "c in", "c out"]


async def test_a_cancelled_wait_for_it_alone_lets_enrolments_in_again() -> None:
    lock = SeatLock()
    holding = asyncio.Event()
    done = asyncio.Event()

    async def hold() -> None:
        async with lock.shared():
            holding.set()
            await done.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()

    async def alone() -> None:
        async with lock.exclusive():
            pass

    waiting = asyncio.create_task(alone())
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.sleep(0.01)
    async with asyncio.timeout(1):
        async with lock.shared():
            pass
    done.set()
    await holder
