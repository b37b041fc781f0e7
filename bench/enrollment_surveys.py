"""What surveys cost over HTTP: a participant's first answer, a changed answer, their list of
open surveys, and the admin's list with counts, against the service as its own process.

Run: ``uv run python -m bench.enrollment_surveys [--people N]``

``--people`` employees are hired (HR webhook) and enrolled in one program; a post-program survey
(the built-in questions and one of the owner's) asks them all. Each then answers once, reads
their open surveys, and changes their answer; the admin lists the program's surveys 50 times
and reads the program 50 times (a read of one document by id, for comparison).
Requests are sent one at a time (latency, not throughput). Prints p50 and p99 of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from bench.enrollment_support import HR_SECRET, enrollment_service, machine
from roundtable_shared.auth import sign

SCALES = [
    "rt_leadership_confidence",
    "rt_next_steps_clarity",
    "rt_people_to_think_with",
    "rt_challenges_shared",
]
OWN = {
    "id": "format_fit",
    "label": "Did the monthly roundtable suit your calendar?",
    "type": "single_choice",
    "options": [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}],
}


def timed(call: Callable[[], httpx.Response], expected: int) -> float:
    start = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - start) * 1000
    assert answer.status_code == expected, answer.text
    return elapsed


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name:<28} n={len(samples):>4}  p50 {statistics.median(ordered):6.1f} ms  p99 {p99:6.1f} ms"


def answers(recommend: int) -> dict[str, object]:
    return {
        "answers": {
            **dict.fromkeys(SCALES, 3),
            "rt_recommend": recommend,
            "rt_action_steps_done": "most",
            "format_fit": "yes",
            "rt_keep_doing": "Bring a real challenge every month.",
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    people = parser.parse_args().people
    with enrollment_service() as service, httpx.Client(base_url=service.url, timeout=30) as http:
        admin = service.token("e-admin", "participant", "program_admin")
        for n in range(people):
            body = json.dumps(
                {
                    "event_id": f"hire-{n}",
                    "type": "employee.hired",
                    "employee_id": f"e-{n}",
                    "effective_at": "2026-01-01T00:00:00Z",
                    "employee": {"display_name": f"Person {n}", "email": f"p{n}@example.com"},
                }
            ).encode()
            headers = {**sign(HR_SECRET, body), "Content-Type": "application/json"}
            assert http.post("/v1/hr/events", content=body, headers=headers).status_code == 200
        program = http.post("/v1/programs", json={"name": "Bench"}, headers=admin).json()
        pid = program["program_id"]
        assert http.post(f"/v1/programs/{pid}/open", headers=admin).status_code == 200
        for n in range(people):
            made = http.post(
                f"/v1/programs/{pid}/enrolments", json={}, headers=service.token(f"e-{n}")
            )
            assert made.status_code == 201, made.text
        closes_at = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        opened = http.post(
            f"/v1/programs/{pid}/surveys",
            json={"kind": "post_program", "questions": [OWN], "closes_at": closes_at},
            headers=admin,
        )
        assert opened.status_code == 201, opened.text
        sid = opened.json()["surveys"][0]["survey_id"]
        path = f"/v1/me/surveys/{sid}/response"
        tokens = [service.token(f"e-{n}") for n in range(people)]

        first = [timed(lambda t=t: http.put(path, json=answers(9), headers=t), 201) for t in tokens]
        mine = [timed(lambda t=t: http.get("/v1/me/surveys", headers=t), 200) for t in tokens]
        changed = [
            timed(lambda t=t: http.put(path, json=answers(6), headers=t), 200) for t in tokens
        ]
        listed = [
            timed(lambda: http.get(f"/v1/programs/{pid}/surveys", headers=admin), 200)
            for _ in range(50)
        ]
        program_read = [
            timed(lambda: http.get(f"/v1/programs/{pid}", headers=admin), 200) for _ in range(50)
        ]
        print(f"{machine()}; {service.mongo_kind}; {people} people asked")
        print(summary("GET program (a baseline)", program_read))
        print(summary("PUT response (first)", first))
        print(summary("GET /v1/me/surveys", mine))
        print(summary("PUT response (changed)", changed))
        print(summary("GET program surveys (admin)", listed))


if __name__ == "__main__":
    main()
