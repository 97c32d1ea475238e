"""A hotline under load for the fault tests: threads registering orders one after another, each order
under an Idempotency-Key of its own and retried, same key and body, until the server acknowledges it,
as a well-behaved client does: after a cut connection, after a 503 (waiting what Retry-After says) and
after the retriable 409 of a key whose first use was rolled back meanwhile."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Tally:
    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> the order id the server gave
    statuses: Counter[int] = field(default_factory=Counter)  # every answer's status
    cut: int = 0  # requests whose connection broke before an answer
    server_errors: list[str] = field(default_factory=list)  # 5xx other than a proper 503
    retry_after: set[str] = field(default_factory=set)  # Retry-After values of the 503s
    failures: list[str] = field(default_factory=list)  # a caller thread that stopped on an error


class Callers:
    def __init__(self, url: str, token: str, body: dict[str, Any], tag: str, threads: int = 4) -> None:
        self._url = f"{url}/api/v1/orders"
        self._tag = tag
        self._headers = {"Authorization": f"Bearer {token}"}
        self._body = body
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.tally = Tally()
        self._threads = [threading.Thread(target=self._call, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Callers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.tally.acknowledged)

    def stop(self) -> Tally:
        """Each thread finishes the order it is on (until acknowledged), then stops."""
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
            assert not thread.is_alive(), "a caller could not get its order acknowledged"
        return self.tally

    def _call(self, n: int) -> None:
        try:
            self._calls(n)
        except Exception as exc:
            with self._lock:
                self.tally.failures.append(repr(exc))

    def _calls(self, n: int) -> None:
        with httpx.Client(timeout=30) as client:
            k = 0
            while not self._stop.is_set():
                k += 1
                key = f"{self._tag}-{n}-{k}"
                body = self._body | {"description": f"{self._body['description']}（{key}）"}  # see stored()
                order_id = self._until_acknowledged(client, key, body)
                with self._lock:
                    self.tally.acknowledged[key] = order_id

    def _until_acknowledged(self, client: httpx.Client, key: str, body: dict[str, Any]) -> int:
        headers = self._headers | {"Idempotency-Key": key}
        while True:
            try:
                response = client.post(self._url, json=body, headers=headers)
            except httpx.TransportError:
                with self._lock:
                    self.tally.cut += 1
                time.sleep(0.05)
                continue
            with self._lock:
                self.tally.statuses[response.status_code] += 1
            if response.status_code in (200, 201):
                return int(response.json()["id"])
            wait = 0.05
            if response.status_code == 503:
                error = response.json()["error"]
                proper = error["code"] == "service_unavailable" and CHINESE.search(error["message"])
                with self._lock:
                    if not proper or "Retry-After" not in response.headers:
                        self.tally.server_errors.append(response.text[:300])
                    self.tally.retry_after.add(response.headers.get("Retry-After", ""))
                wait = float(response.headers.get("Retry-After", "1"))
            elif response.status_code >= 500:
                with self._lock:
                    self.tally.server_errors.append(f"{response.status_code} {response.text[:300]}")
            elif response.status_code != 409 or response.json()["error"]["code"] != "conflict":
                raise AssertionError(f"order refused: {response.status_code} {response.text[:300]}")
            time.sleep(wait)


def stored(connection: Any, tag: str) -> list[tuple[str, int]]:
    """(key, order id) of every stored order the callers tagged `tag` registered."""
    rows = connection.exec_driver_sql(
        "SELECT id, description FROM orders WHERE description LIKE %(pattern)s", {"pattern": f"%（{tag}-%"}
    ).all()
    return [(description.rsplit("（", 1)[1].rstrip("）"), order_id) for order_id, description in rows]
