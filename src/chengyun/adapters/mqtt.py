"""MQTT ingestion: a subscriber that hands sensor messages to a sink in batches and acknowledges each
QoS 1 message only after the sink has stored the batch that carries it.

Library: gmqtt (asyncio, MQTT 5). It parses about five times as many PUBLISH packets per second as
paho-mqtt, and everything here is a plain callback on the event loop. Its own "manual acknowledgement"
mode (``optimistic_acknowledgement=False``) wraps every message in an asyncio task and sends one PUBACK
per task: the per-message task is exactly the bottleneck this adapter must avoid. So the adapter
replaces, on its own client's packet handler, the one method that handles an incoming QoS 1 PUBLISH
(``_handle_qos_1_publish_packet(mid, payload, topic, properties)``, called after the library has
parsed topic, packet id and properties) with a function that appends the message to the open batch
and sends nothing. When the sink has stored a batch, the PUBACKs of the whole batch go out in one
socket write. The adapter also owns reconnection (exponential back-off with jitter): gmqtt's built-in
reconnect waits a fixed delay, so its reconnect callback is replaced by one that only reports the loss.

Delivery is at least once: a message whose batch was stored but whose PUBACK never reached the broker
(the worker died, the connection dropped) is delivered again, so the sink must be idempotent.

Flow control, measured on Mosquitto 2.0.11 with its defaults (``max_inflight_messages 20``,
``max_queued_messages 1000``):

* The broker sends an MQTT 5 client as many unacknowledged QoS 1 messages as the client's CONNECT
  *receive maximum* allows; ``max_inflight_messages`` only applies to clients that send none (and to
  MQTT 3.1.1 clients). Batch-then-acknowledge needs that window: with 20 in flight a batch could
  never hold more than 20 messages.
* But the window must stay below ``max_queued_messages``: Debian's 2.0.11 carries the upstream fix
  for CVE-2023-28366, which caps the packets waiting in a client's *output* queue at that number and
  silently discards packets beyond it (``packet__queue``). Measured with a subscriber that stops
  reading for 2 s and 3,000 8 KB messages: with a window of 20, 500 or 1,000 it gets window + 1,000
  (the normal queue limit), with 2,000, 3,000 or 65,535 only about 1,500. A PUBLISH discarded that
  way still counts as in flight in the session, so it is neither delivered nor dropped until the
  next reconnect. Hence ``receive_maximum`` 900 by default, and batches close at half the window so
  one batch is received while the previous one is being stored.
* Beyond the window, Mosquitto queues at most ``max_queued_messages`` more per client and then
  drops QoS 1 messages for good (logged as "Outgoing messages are being dropped"). No subscriber
  can prevent that; a deployment whose workers can fall behind its publishers (bursts, a slow
  database) must raise ``max_queued_messages``. Under full load on two shared cores the benchmark
  sees such drops now and then even with the ingestor keeping under 1,800 messages outstanding.
* A publisher may have only 20 (the CONNACK receive maximum) QoS 1 messages unacknowledged, which
  `MqttPublisher` honours.
* A restarted Mosquitto 2.0.11 (``persistence true``) restores a persistent session's plain
  subscriptions and delivers what was published for them while the subscriber was still away, but
  not its shared subscription: what is published on the sensor topics after the restart and before
  a member of the group subscribes again reaches nobody (measured, tests/faults/test_broker_restart.py).
  Hence the short reconnect back-off (``backoff_max``): the window lasts until the first worker is
  back, at most about 2 s after the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import gmqtt
from gmqtt.mqtt.constants import MQTTv50

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[tuple[str, bytes]]], object]
"""Stores a batch of (topic, payload) pairs, synchronously; returns when the batch is durably stored,
raises if it could not be stored. Must tolerate redelivered messages (at-least-once delivery)."""

_PUBACK = struct.Struct("!BBH")  # PUBACK, remaining length 2, packet id: reason "success" (MQTT 5 §3.4.2.1)
_PUBACK_TYPE = 0x40


class MqttError(RuntimeError):
    """The broker could not be reached, refused us, or did not accept a message."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS, default ports 1883 and 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT 地址须以 mqtt:// 或 mqtts:// 开头：{url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT 地址缺少主机名：{url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ValueError(f"MQTT 地址的端口无效：{url!r}") from exc
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
    )


@dataclass(frozen=True)
class MqttConfig:
    url: str
    client_id: str
    topic: str = "chengyun/+/sensors/+"
    share_group: str | None = "chengyun"  # subscribe to $share/{group}/{topic}: workers split the stream
    qos: int = 1
    batch_max: int = 5000  # messages per sink call
    batch_wait: float = 0.02  # seconds a batch stays open for more messages once it has one
    session_expiry: int = 3600  # seconds the broker keeps our session (and queues for us) while we are away
    # Unacknowledged messages the broker may send us (MQTT 5 flow control); keep it below the broker's
    # max_queued_messages (module docstring). Batches close at half of it.
    receive_maximum: int = 900
    keepalive: int = 30
    connect_timeout: float = 10.0
    backoff_initial: float = (
        0.2  # reconnect and sink-retry back-off: doubles up to backoff_max, +-25 % jitter
    )
    # Short, because a restarted broker drops what is published for the shared subscription until one
    # of the group reconnects (module docstring): a retry every 2 s costs a refused TCP connection.
    backoff_max: float = 2.0

    def __post_init__(self) -> None:
        if self.qos not in (0, 1):
            raise ValueError("MQTT 订阅的 QoS 只支持 0 或 1")
        if self.batch_max < 1 or self.batch_wait < 0:
            raise ValueError("批量参数无效：batch_max ≥ 1，batch_wait ≥ 0")
        if not 1 <= self.receive_maximum <= 65535:
            raise ValueError("receive_maximum 须在 1 到 65535 之间")
        parse_mqtt_url(self.url)

    @property
    def subscription(self) -> str:
        return f"$share/{self.share_group}/{self.topic}" if self.share_group else self.topic


def backoff_delay(attempt: int, initial: float, maximum: float) -> float:
    """Delay before retry number `attempt` (1, 2, ...): exponential, capped, with +-25 % jitter."""
    base = min(maximum, initial * 2.0 ** min(attempt - 1, 30))
    return base * random.uniform(0.75, 1.25)  # jitter, not cryptography


def _connect_kwargs(address: BrokerAddress) -> dict[str, Any]:
    return {"host": address.host, "port": address.port, "ssl": address.tls}


class MqttIngestor:
    """Subscribes to the sensor topics and feeds the sink in batches of up to ``batch_max`` messages
    (and at most half of ``receive_maximum``).

    Runs in a thread of its own with its own event loop (`start`/`stop`), or as ``await run()`` on a
    loop of the caller's. The sink runs in one dedicated thread, one batch at a time in arrival order,
    while the loop keeps receiving the next batch. PUBACKs of a batch are sent only after the sink
    returned, in one write, and only on the connection the batch arrived on: after a reconnect the
    broker redelivers the messages of the lost connection itself.

    When the sink raises, the batch is not acknowledged: the error is logged and counted, and the
    same batch is retried after a back-off (exponential, capped, with jitter) until it is stored or
    the ingestor stops. Later batches wait behind it, so per-topic order holds; meanwhile the broker
    stops sending once ``receive_maximum`` messages are unacknowledged. On `stop` a batch being
    retried is given up unacknowledged, so the broker delivers it again (to this client id when it
    comes back, its session lasting ``session_expiry`` seconds).

    Each worker needs a client id of its own that stays the same across restarts (the broker keeps
    the session, subscription and unacknowledged messages under it); workers sharing the stream use
    the same ``share_group``. A lost connection is re-established with the same back-off.
    """

    def __init__(self, config: MqttConfig, sink: Sink) -> None:
        self.config = config
        self._address = parse_mqtt_url(config.url)
        self._sink = sink
        # A batch never waits for more than half the window: the broker could not send the rest.
        self._batch_limit = max(1, min(config.batch_max, config.receive_maximum // 2))
        self.received = 0
        self.acked = 0
        self.batches = 0
        self.sink_failures = 0
        self.reconnects = 0
        self.connected = False
        self.connections = 0  # subscriptions established so far: a change means the stream was broken
        self._qos1_received = 0
        self._end_session = False  # set by a drained `_leave`: the session may go at disconnect
        # The open batch: (topic, payload) pairs and, in parallel, their packet ids (0: nothing to ack).
        self._messages: list[tuple[str, bytes]] = []
        self._mids: list[int] = []
        self._generation = 0  # connection number; a batch is acked only on the connection it came from
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # -- thread API ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Runs the ingestor in a daemon thread; returns at once (connection happens in the background)."""
        if self._thread is not None:
            raise RuntimeError("MQTT 接入已经启动")
        self._thread = threading.Thread(target=self._thread_main, name="mqtt-ingestor", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self, timeout: float = 10.0, leave: bool = True) -> bool:
        """Stores and acknowledges what has arrived, disconnects; True when the thread has ended.

        With `leave` (a planned stop) the worker first leaves the shared subscription, stores what the
        broker still had queued for it, and then ends its session. A stopped worker whose session
        stays is still handed its share of the stream, queued for it until it comes back or the
        session expires (then lost): the group's other workers would see only part of it. A crash
        keeps the session, so the restarted worker gets its queue."""
        loop = self._loop
        if leave and loop is not None and not loop.is_closed() and self.connected:
            with contextlib.suppress(Exception):  # best effort: a plain stop follows anyway
                asyncio.run_coroutine_threadsafe(self._leave(), loop).result(timeout)
        self._stop_requested = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._request_stop)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def wait_connected(self, timeout: float) -> bool:
        """Polls until the subscription is in place (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected:
                return True
            time.sleep(0.01)
        return self.connected

    def stats(self) -> dict[str, int | bool]:
        return {
            "received": self.received,
            "acked": self.acked,
            "batches": self.batches,
            "sink_failures": self.sink_failures,
            "reconnects": self.reconnects,
            "pending": len(self._messages),
            "connected": self.connected,
        }

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.run())
        except BaseException as exc:  # logged, and kept for whoever looks
            self._failure = exc
            log.exception("MQTT 接入线程异常退出")
        finally:
            self._ready.set()

    def _request_stop(self) -> None:
        self._stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._wake is not None:
            self._wake.set()

    # -- the loop -----------------------------------------------------------------------------------

    async def _leave(self, quiet: float = 0.5, longest: float = 5.0) -> None:
        """Unsubscribes and waits until the broker's queue for this worker is drained and stored
        (nothing new for `quiet` seconds, everything received acknowledged)."""
        client = self._client
        if client is None:
            return
        client.unsubscribe(self.config.subscription)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + longest
        last, quiet_since = self.received, loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            if self.received != last:
                last, quiet_since = self.received, loop.time()
            elif loop.time() - quiet_since >= quiet and self.acked >= self._qos1_received:
                self._end_session = True
                return

    async def run(self) -> None:
        """Connects, subscribes and feeds the sink until `stop` (or cancellation)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        self._ready.set()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqtt-sink")
        batcher = asyncio.create_task(self._batch_loop(executor))
        try:
            await self._connection_loop()
        finally:
            self._request_stop()
            try:
                await asyncio.wait_for(asyncio.shield(batcher), self.config.connect_timeout)
            except TimeoutError:
                batcher.cancel()
            await self._disconnect()
            executor.shutdown(wait=False)

    async def _connection_loop(self) -> None:
        assert self._stop_event is not None
        attempt = 0
        while not self._stop_event.is_set():
            lost = asyncio.Event()
            try:
                await self._connect(lost)
            except Exception as exc:  # refused, unreachable, timed out, or a library fault: never give up
                attempt += 1
                delay = backoff_delay(attempt, self.config.backoff_initial, self.config.backoff_max)
                log.warning(
                    "连接 MQTT 代理 %s 失败（第 %d 次）：%s；%.1f 秒后重试",
                    self.config.url,
                    attempt,
                    exc,
                    delay,
                )
                await self._disconnect()
                await self._sleep_unless_stopped(delay)
                continue
            attempt = 0
            await _first(lost.wait(), self._stop_event.wait())
            if self._stop_event.is_set():
                return
            self._on_connection_lost()
            self.reconnects += 1
            delay = backoff_delay(1, self.config.backoff_initial, self.config.backoff_max)
            log.warning("与 MQTT 代理的连接断开，%.1f 秒后重连", delay)
            await self._sleep_unless_stopped(delay)

    async def _connect(self, lost: asyncio.Event) -> None:
        config = self.config
        client = gmqtt.Client(
            config.client_id,
            clean_session=False,  # MQTT 5 clean start = 0: resume the session and its queued messages
            session_expiry_interval=config.session_expiry,
            receive_maximum=config.receive_maximum,
        )
        if self._address.username is not None:
            client.set_auth_credentials(self._address.username, self._address.password)
        handler = client._package_handler
        handler._handle_qos_1_publish_packet = self._on_qos1  # see the module docstring
        client.on_message = self._on_qos0

        async def report_loss(delay: bool = False) -> None:  # replaces gmqtt's fixed-delay reconnect
            lost.set()

        handler._reconnect_callback = report_loss
        subscribed: asyncio.Future[tuple[int, ...]] = asyncio.get_running_loop().create_future()

        def on_subscribe(_client: object, _mid: int, granted: tuple[int, ...], _properties: object) -> None:
            if not subscribed.done():
                subscribed.set_result(tuple(granted))

        client.on_subscribe = on_subscribe
        self._client = client
        self._generation += 1
        timeout = config.connect_timeout
        await asyncio.wait_for(
            client.connect(**_connect_kwargs(self._address), keepalive=config.keepalive, version=MQTTv50),
            timeout,
        )
        client.subscribe(config.subscription, qos=config.qos)
        granted = await asyncio.wait_for(subscribed, timeout)
        if not granted or granted[0] >= 0x80:
            raise MqttError(f"代理拒绝订阅 {config.subscription}（原因码 {granted}）")
        self.connections += 1
        self.connected = True
        log.info("已订阅 MQTT %s（客户端 %s）", config.subscription, config.client_id)

    def _on_connection_lost(self) -> None:
        """Messages of the lost connection stay in the open batch and still go to the sink (the broker may
        have lost its session), but their packet ids are void: the broker redelivers them itself."""
        self.connected = False
        self._generation += 1
        self._mids = [0] * len(self._mids)

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        self.connected = False
        if client is None:
            return
        # After a drained leave, with nothing unacknowledged, the session has nothing left to keep.
        done = self._end_session and self.acked >= self._qos1_received
        properties = {"session_expiry_interval": 0} if done else {}
        with contextlib.suppress(Exception):  # best effort: the socket may already be gone
            await asyncio.wait_for(client.disconnect(**properties), 2.0)

    async def _sleep_unless_stopped(self, delay: float) -> None:
        assert self._stop_event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), delay)

    # -- receiving: plain callbacks on the loop, no task per message ----------------------------------

    def _on_qos1(self, mid: int, payload: bytes, topic: str | bytes, _properties: object) -> None:
        if isinstance(topic, bytes):  # not UTF-8: still the sink's to reject, never dropped here
            topic = topic.decode("utf-8", "replace")
        self._messages.append((topic, payload))
        self._mids.append(mid)
        self.received += 1
        if mid:
            self._qos1_received += 1
        n = len(self._messages)
        if n in (1, self._batch_limit):
            assert self._wake is not None
            self._wake.set()

    def _on_qos0(
        self, _client: object, topic: str | bytes, payload: bytes, _qos: int, properties: object
    ) -> None:
        self._on_qos1(0, payload, topic, properties)

    # -- batching and acknowledging ---------------------------------------------------------------

    async def _batch_loop(self, executor: ThreadPoolExecutor) -> None:
        assert self._wake is not None
        wake = self._wake
        limit = self._batch_limit
        while True:
            # After a stop request one last batch is stored and acknowledged; the broker redelivers the rest.
            final = self._stop_requested
            while not self._messages and not self._stop_requested:
                wake.clear()
                await wake.wait()
            if not self._messages:
                return  # stopping, nothing left
            if len(self._messages) < limit and not self._stop_requested:
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.config.batch_wait)
            batch = self._messages[:limit]
            mids = self._mids[:limit]
            del self._messages[:limit]
            del self._mids[:limit]
            generation = self._generation
            if not await self._store(executor, batch):
                return  # stopping while the sink fails: the batch stays unacknowledged
            self.batches += 1
            self._ack(generation, mids)
            if final:
                return

    async def _store(self, executor: ThreadPoolExecutor, batch: list[tuple[str, bytes]]) -> bool:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                await loop.run_in_executor(executor, self._sink, batch)
                return True
            except Exception as exc:
                attempt += 1
                self.sink_failures += 1
                delay = backoff_delay(attempt, self.config.backoff_initial, self.config.backoff_max)
                log.error(
                    "保存 %d 条 MQTT 消息失败（第 %d 次），不确认，%.1f 秒后重试：%s",
                    len(batch),
                    attempt,
                    delay,
                    exc,
                    exc_info=exc if attempt == 1 else None,  # a restart: one traceback, not one a try
                )
                if self._stop_requested:
                    return False
                await self._sleep_unless_stopped(delay)
                if self._stop_requested:
                    return False

    def _ack(self, generation: int, mids: list[int]) -> None:
        client = self._client
        if generation != self._generation or client is None or not self.connected:
            return  # the connection changed: the broker redelivers these, the sink skips what it has
        connection = client._connection
        if connection is None or connection.is_closing():
            return
        pack = _PUBACK.pack
        data = b"".join([pack(_PUBACK_TYPE, 2, mid) for mid in mids if mid])
        if data:
            connection.send_package(data)
            self.acked += len(data) // _PUBACK.size


async def _first(*awaitables: Any) -> None:
    """Waits until the first of the awaitables is done; cancels the others."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


class MqttPublisher:
    """A small synchronous QoS 0/1 publisher (demo, tests, benchmarks), on its own thread and loop.

    `publish_many` keeps as many messages unacknowledged as the broker's receive maximum allows and
    returns when every QoS 1 message has been acknowledged; it raises `MqttError` when the broker
    refuses one, the connection drops, or acknowledgements stop coming for ``timeout`` seconds.
    """

    def __init__(self, url: str, client_id: str | None = None, timeout: float = 30.0) -> None:
        self._address = parse_mqtt_url(url)
        self._client_id = client_id or f"chengyun-pub-{uuid.uuid4().hex[:12]}"
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mqtt-publisher", daemon=True)
        self._thread.start()
        self._client: Any = None
        self._in_flight = 0
        self._window = 20
        self._progress: asyncio.Event | None = None
        self._refused: list[tuple[int, int]] = []
        self._lost = False
        try:
            self._call(self._connect())
        except BaseException:
            self._stop_loop()
            raise

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _connect(self) -> None:
        client = gmqtt.Client(self._client_id, clean_session=True)
        if self._address.username is not None:
            client.set_auth_credentials(self._address.username, self._address.password)
        handler = client._package_handler
        self._progress = asyncio.Event()
        library_puback = handler._handle_puback_packet

        def on_puback(cmd: int, packet: bytes) -> None:
            library_puback(cmd, packet)  # frees the packet id, forgets the stored message
            if len(packet) > 2 and packet[2] >= 0x80:  # MQTT 5 reason code: refused (gmqtt ignores it)
                self._refused.append((struct.unpack("!H", packet[:2])[0], packet[2]))
            self._in_flight -= 1
            assert self._progress is not None
            self._progress.set()

        async def report_loss(delay: bool = False) -> None:
            self._lost = True
            assert self._progress is not None
            self._progress.set()

        handler._handle_puback_packet = on_puback
        handler._reconnect_callback = report_loss
        await asyncio.wait_for(
            client.connect(**_connect_kwargs(self._address), version=MQTTv50), self._timeout
        )
        receive_maximum = handler._connack_properties.get("receive_maximum")
        # gmqtt hands out packet ids 1 .. receive_maximum - 1
        self._window = max(1, (receive_maximum[0] if receive_maximum else 65535) - 1)
        self._client = client

    def publish_many(self, messages: Sequence[tuple[str, bytes]], qos: int = 1) -> None:
        self._call(self._publish_many(messages, qos))

    async def _publish_many(self, messages: Sequence[tuple[str, bytes]], qos: int) -> None:
        client = self._client
        progress = self._progress
        assert progress is not None
        for topic, payload in messages:
            while qos and self._in_flight >= self._window:
                await self._wait_progress(progress)
            if self._lost:
                raise MqttError("与 MQTT 代理的连接已断开，消息未全部发出")
            client.publish(topic, payload, qos=qos)
            if qos:
                self._in_flight += 1
        while self._in_flight > 0:
            await self._wait_progress(progress)
        if qos == 0:
            await asyncio.sleep(0)  # let the transport flush
        if self._refused:
            refused, self._refused = self._refused, []
            raise MqttError(f"代理拒收了 {len(refused)} 条消息（原因码 {refused[0][1]:#x} 等）")

    async def _wait_progress(self, progress: asyncio.Event) -> None:
        if self._lost:
            raise MqttError("与 MQTT 代理的连接已断开，消息未全部确认")
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), self._timeout)
        except TimeoutError as exc:
            raise MqttError(f"等待 MQTT 代理确认超时（{self._timeout:g} 秒）") from exc
        if self._lost:
            raise MqttError("与 MQTT 代理的连接已断开，消息未全部确认")

    def close(self) -> None:
        if self._client is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._call(asyncio.wait_for(self._client.disconnect(), 2.0))
            self._client = None
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
