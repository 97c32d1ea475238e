"""The notifier's outside world: the senders behind the Sender port (a webhook posting signed JSON, an
SMS sender that only logs until a gateway is contracted) and the loop that runs the notifier."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

from chengyun.adapters.worker import LoopThread
from chengyun.domain.notify import Delivery
from chengyun.domain.orders import mask_phone
from chengyun.services.notify import SendFailed

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Chengyun-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with the
    shared secret and refuses old timestamps (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookSender:
    """POSTs a delivery's payload as JSON to the webhook's URL; any answer but 2xx is a failure."""

    channel = "webhook"

    def __init__(self, timeout_s: float = 5.0, now: Callable[[], float] = time.time) -> None:
        self._timeout_s = timeout_s
        self._now = now

    def send(self, delivery: Delivery) -> None:
        url, secret = delivery.extra["url"], delivery.extra["secret"]
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "chengyun-notifier",
                "X-Chengyun-Event": delivery.kind,
                "X-Chengyun-Delivery": str(delivery.id),
                SIGNATURE_HEADER: signature(secret, int(self._now()), body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SendFailed(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SendFailed(f"连接失败：{reason}") from None
        if not 200 <= status < 300:
            raise SendFailed(f"HTTP {status}")


class LogSmsSender:
    """SMS behind the same port: writes what it would send to the log. A street that contracts an SMS
    gateway plugs a sender for it in here."""

    channel = "sms"

    def send(self, delivery: Delivery) -> None:
        log.info(
            "短信 → %s：%s", mask_phone(str(delivery.payload.get("phone", ""))), delivery.payload.get("text")
        )


class NotifyWorker(LoopThread):
    """Runs the timeline's readers (circulation of people, then notifications) and sends what is due;
    woken early by the bus."""

    name = "notify-worker"

    def __init__(
        self,
        pumps: Sequence[Callable[[], int]],
        deliver: Callable[[], int],
        every_s: float = 0.5,
        batch: int = 500,
        gap_s: float = 0.1,
        busy: int = 50,
        busy_gap_s: float = 0.5,
    ) -> None:
        self._pumps = list(pumps)
        self._gap_s = gap_s
        self._busy = busy
        self._busy_gap_s = busy_gap_s
        self._deliver = deliver
        self._every_s = every_s
        self._batch = batch
        self._wake = threading.Event()
        self._read = 0  # timeline entries the last round read
        super().__init__()

    def wake(self, _: object = None) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """One round; returns how many timeline entries the readers read."""
        read = 0
        for pump in self._pumps:
            while True:
                n = pump()
                read += n
                if n < self._batch:
                    break
        while self._deliver() > 0:
            pass
        return read

    def _round(self) -> float:
        self._wake.clear()
        self._read = self.run_once()
        return self._every_s

    def gap(self) -> float:
        """The pause after a round: `gap_s`, or `busy_gap_s` after a round that read `busy` entries or
        more (an intake rush): each round costs some milliseconds whatever it reads, so a rush is read
        in fewer, larger rounds; a lone event is still told within `gap_s`."""
        return self._busy_gap_s if self._read >= self._busy else self._gap_s

    def _run(self) -> None:
        # As LoopThread, but a published event ends the wait early: after the gap at least, so that a
        # burst of events (an intake rush) is read in one round of a few transactions, not one round per
        # order (every round takes the SQLite write lock several times).
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:
                log.exception("%s round failed; retrying in 1 s", self.name)
            gap = self.gap()
            if self._stop.wait(gap):
                break
            self._wake.wait(timeout=max(self._every_s - gap, 0.0))
