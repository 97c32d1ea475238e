"""Sensor payloads at the edge: raw MQTT/HTTP bytes -> readings, or precise rejections.

Formats (ARCHITECTURE.md, "sensors over MQTT/HTTP"):

* **Contract object** (one MQTT message, topic ``chengyun/{street}/sensors/{sensor_id}``):
  ``{"ts": ISO-8601 or epoch seconds, "values": {"name": number, ...}}``.
* **Gateway list** (HTTP body, or one MQTT message carrying many readings): a JSON list of
  ``{"sensor_id", "ts", "values"}``. Over MQTT the topic's sensor id is then the gateway's; every
  item names its own sensor.
* **SenML** (RFC 8428 JSON array). Base fields (``bn``, ``bt``, ``bu``, ``bv``) carry over to the
  records after them until changed. The resolved name ``bn + n`` is split at its last ``:`` or ``/``
  into sensor and quantity: ``{"bn": "S-00017:", "n": "tilt_x"}`` is quantity ``tilt_x`` of sensor
  ``S-00017``; a ``urn:dev:<scheme>:<id>`` sensor part becomes ``<id>``
  (``urn:dev:ow:10e2073a01080063:temp`` -> sensor ``10e2073a01080063``, quantity ``temp``). A name
  with no separator is a quantity of the topic's sensor (MQTT); over HTTP it is rejected
  (``senml_no_sensor``). Time is ``bt + t``; a resolved time below 2**28 is relative to ``now``
  (RFC 8428 section 4.5.3), so a pack with no time at all means "now". Value is ``bv + v``; ``vb``,
  ``vs``, ``vd`` are not numbers and are rejected. Units (``u``, else ``bu``) come back in
  ``Decoded.units`` for the caller to check against the registry. Records that share a sensor and a
  time become one ``Decoded`` with several values. A field ending in ``_`` (RFC "must understand")
  rejects its record.

Decisions:

* A timestamp without a time zone is **rejected** (``ts_no_timezone``): devices here commonly send
  Beijing local time, and guessing UTC would shift readings by 8 hours silently.
* Epoch seconds above 1e11 are rejected as "probably milliseconds" (``bad_timestamp``).
* The unit of validation is the value: a reading with one NaN among good values keeps the good ones
  and rejects the bad one; a reading with no good value left yields no ``Decoded``. One bad reading
  never drops its siblings; only an unparseable or oversized payload (or a bad topic) is rejected
  whole.
* Registry checks (unknown sensor, value name, unit) are not done here.

Speed: the well-formed case is decoded by typed ``msgspec`` decoders into structs (no per-field
Python checks except ``isfinite``); anything that fails typed decoding is decoded again untyped
(``msgspec``, then stdlib ``json`` which also reads ``NaN``/``Infinity``) and walked item by item to
name what is wrong. Nothing here raises on bad input.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

MAX_PAYLOAD_BYTES = 256 * 1024
EXCERPT_CHARS = 120
TOPIC_PREFIX = "chengyun"
DEFAULT_MAX_FUTURE = timedelta(minutes=10)
DEFAULT_MAX_AGE = timedelta(days=30)
_EPOCH_MAX = 1e11  # larger epoch "seconds" are almost surely milliseconds
_SENML_RELATIVE = 2**28

# code -> what an operator reads in the dead-letter log
REJECTION_CODES: dict[str, str] = {
    "payload_too_large": "报文过大",
    "bad_topic": "主题不符合约定",
    "malformed_json": "报文不是合法的 JSON",
    "empty_payload": "报文没有任何读数",
    "wrong_shape": "报文结构不符合约定",
    "missing_field": "缺少必填字段",
    "bad_sensor_id": "传感器编号无效",
    "empty_values": "读数没有任何数值",
    "bad_value_name": "数值名称无效",
    "not_numeric": "数值不是数字",
    "not_finite": "数值不是有限数",
    "bad_timestamp": "时间无法识别",
    "ts_no_timezone": "时间缺少时区",
    "ts_future": "时间超前过多",
    "ts_too_old": "时间过旧",
    "senml_no_sensor": "SenML 名称中没有传感器编号",
    "senml_unsupported": "SenML 含无法理解的字段",
}


class Decoded(msgspec.Struct, gc=False):
    """One reading: a sensor's values at one instant. `units` only for SenML (quantity -> unit).
    A msgspec struct: built in C (a gateway batch makes tens of thousands), and never tracked by the
    garbage collector (it holds strings, a datetime and dicts, so it can never be part of a cycle)."""

    sensor_id: str
    ts: datetime  # aware, UTC
    values: dict[str, float]
    street: str | None = None  # from the MQTT topic; None over HTTP
    units: dict[str, str] | None = None  # SenML only: quantity -> unit as sent (u, else bu)


@dataclass(slots=True)
class Rejected:
    """A refused payload, reading or value, for the dead-letter log."""

    code: str  # a key of REJECTION_CODES
    reason: str  # Chinese, precise (names the field/quantity and what was wrong)
    sensor_id: str | None
    excerpt: str  # the start of the offending payload or item
    index: int | None = None  # position of the item in a list payload
    street: str | None = None  # from the MQTT topic, when it named one


class _Reading(msgspec.Struct, gc=False):
    ts: float | str
    values: dict[str, float]


class _Item(msgspec.Struct, gc=False):
    sensor_id: str
    ts: float | str
    values: dict[str, float]


class _Record(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A SenML record as the fast path takes it: numbers only; vs/vb/vd/s or "must understand"
    fields fail typed decoding and go to the slow path."""

    bn: str | None = None
    bt: float | None = None
    bu: str | None = None
    bv: float | None = None
    bver: int | None = None
    n: str | None = None
    u: str | None = None
    v: float | None = None
    t: float = 0.0
    ut: float | None = None


_READING = msgspec.json.Decoder(_Reading)
_SENML = msgspec.json.Decoder(list[_Record])
_TOPICS: dict[str, tuple[str, str]] = {}
_TOPIC_CACHE = 100_000
_ITEMS = msgspec.json.Decoder(list[_Item])
_ANY = msgspec.json.Decoder()
_Failure = tuple[str, str]  # (code, reason)


def _excerpt(payload: bytes | str) -> str:
    if isinstance(payload, bytes):
        return payload[: EXCERPT_CHARS * 2].decode("utf-8", "replace")[:EXCERPT_CHARS]
    return payload[:EXCERPT_CHARS]


def _item_excerpt(item: object) -> str:
    if isinstance(item, bytes):
        return _excerpt(item)
    if isinstance(item, msgspec.Struct):
        item = msgspec.to_builtins(item)
    try:
        text = json.dumps(item, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(item)
    return _excerpt(text)


class _Context:
    """Per-call state: the clock window and a cache of parsed timestamps (gateways repeat them)."""

    __slots__ = ("cache", "earliest", "latest", "now", "rejected", "street")

    def __init__(self, now: datetime, max_future: timedelta, max_age: timedelta, street: str | None):
        self.now = now
        self.latest = now + max_future
        self.earliest = now - max_age
        self.street = street
        self.cache: dict[float | str, datetime | _Failure] = {}
        self.rejected: list[Rejected] = []

    def reject(self, code: str, reason: str, sensor_id: str | None, excerpt: str, index: int | None) -> None:
        self.rejected.append(Rejected(code, reason, sensor_id, excerpt, index, self.street))

    def timestamp(self, raw: object) -> datetime | _Failure:
        if type(raw) is bool or not isinstance(raw, int | float | str):
            return "bad_timestamp", f"时间 ts 应为 ISO-8601 字符串或纪元秒数，收到 {type(raw).__name__}"
        cached = self.cache.get(raw)
        if cached is None:
            cached = self.cache[raw] = self._parse(raw)
        return cached

    def _parse(self, raw: float | str) -> datetime | _Failure:
        if isinstance(raw, str):
            try:
                ts = datetime.fromisoformat(raw)
            except ValueError:
                return "bad_timestamp", f"时间 {raw[:40]!r} 不是 ISO-8601 格式"
            if ts.tzinfo is None or ts.utcoffset() is None:
                return "ts_no_timezone", f"时间 {raw[:40]!r} 没有时区（请带 Z 或 +08:00）"
            ts = ts.astimezone(UTC)
        else:
            if not math.isfinite(raw) or raw < 0:
                return "bad_timestamp", f"纪元秒数 {raw} 无效"
            if raw > _EPOCH_MAX:
                return "bad_timestamp", f"纪元秒数 {raw} 过大，疑似毫秒（约定为秒）"
            ts = datetime.fromtimestamp(raw, UTC)
        return self.window(ts, raw)

    def window(self, ts: datetime, raw: object) -> datetime | _Failure:
        if ts > self.latest:
            return "ts_future", f"时间 {raw} 晚于当前时间 {self.now.isoformat()} 过多"
        if ts < self.earliest:
            return "ts_too_old", f"时间 {raw} 早于当前时间 {self.now.isoformat()} 过多"
        return ts

    def reading(
        self,
        sensor_id: str,
        raw_ts: object,
        values: dict[Any, Any],
        out: list[Decoded],
        excerpt: Any,
        index: int | None,
        typed: bool,
    ) -> None:
        """Validate one reading (values already a dict); append it or its rejections."""
        if not sensor_id:
            self.reject("bad_sensor_id", "sensor_id 为空", None, _item_excerpt(excerpt), index)
            return
        ts = self.timestamp(raw_ts)
        if isinstance(ts, tuple):
            self.reject(ts[0], ts[1], sensor_id, _item_excerpt(excerpt), index)
            return
        if not values:
            self.reject("empty_values", "values 为空，没有任何数值", sensor_id, _item_excerpt(excerpt), index)
            return
        if typed:  # msgspec made every value a float already
            clean = "" not in values and all(map(math.isfinite, values.values()))
        else:
            clean = all(map(_is_finite_number, values.values())) and all(map(_is_name, values))
        if clean:
            out.append(Decoded(sensor_id, ts, values, self.street))
            return
        good: dict[str, float] = {}
        for name, value in values.items():
            failure = _value_failure(name, value)
            if failure is None:
                good[name] = float(value)
            else:
                self.reject(failure[0], failure[1], sensor_id, _item_excerpt({name: value}), index)
        if good:
            out.append(Decoded(sensor_id, ts, good, self.street))


def _is_finite_number(value: object) -> bool:
    return type(value) is float and math.isfinite(value)


def _is_name(name: object) -> bool:
    return type(name) is str and name != ""


def _value_failure(name: object, value: object) -> _Failure | None:
    if not isinstance(name, str) or not name:
        return "bad_value_name", f"数值名称 {name!r} 无效"
    if type(value) is bool:
        return "not_numeric", f"数值 {name} 是布尔值 {value}，不是数字"
    if type(value) is int:
        try:
            value = float(value)
        except OverflowError:
            return "not_finite", f"数值 {name} 超出范围"
    if type(value) is not float:
        return "not_numeric", f"数值 {name} 不是数字（{type(value).__name__}）"
    if not math.isfinite(value):
        return "not_finite", f"数值 {name} 为 {value}，不是有限数"
    return None


def _loads(payload: bytes) -> tuple[bool, Any]:
    """Untyped decode: (True, value), or (False, None) for bytes that are not JSON at all."""
    try:
        return True, _ANY.decode(payload)
    except (msgspec.DecodeError, ValueError, RecursionError):  # ValueError: bad UTF-8
        pass
    try:  # stdlib reads NaN / Infinity / 1e999, so those become per-value rejections
        return True, json.loads(payload)
    except (ValueError, RecursionError):
        return False, None


def _topic(topic: str) -> tuple[str, str] | None:
    if type(topic) is not str:
        return None
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != TOPIC_PREFIX or parts[2] != "sensors":
        return None
    street, sensor_id = parts[1], parts[3]
    for part in (street, sensor_id):
        if not part or part != part.strip() or "+" in part or "#" in part:
            return None
    return street, sensor_id


def _context(now: datetime, max_future: timedelta, max_age: timedelta, street: str | None) -> _Context:
    if now.tzinfo is None:  # a programming slip, not bad input: the clock port gives aware times
        now = now.replace(tzinfo=UTC)
    return _Context(now, max_future, max_age, street)


def decode_message(
    topic: str,
    payload: bytes,
    now: datetime,
    *,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> tuple[list[Decoded], list[Rejected]]:
    """One MQTT message -> its readings and rejections. Street and sensor id come from the topic;
    the payload is the contract object, a gateway list or a SenML pack. Never raises."""
    return decode_messages([(topic, payload)], now, max_future=max_future, max_age=max_age)


def decode_messages(
    messages: Iterable[tuple[str, bytes]],
    now: datetime,
    *,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> tuple[list[Decoded], list[Rejected]]:
    """Many MQTT messages (topic, payload) received together -> all their readings and rejections,
    as `decode_message` on each, sharing the per-call set-up and the timestamp cache. Never raises."""
    ctx = _context(now, max_future, max_age, None)
    out: list[Decoded] = []
    topics = _TOPICS
    for topic, payload in messages:
        parsed = topics.get(topic)
        if parsed is None:
            parsed = _topic(topic)
            if parsed is None:
                ctx.street = None
                reason = f"主题 {str(topic)[:80]!r} 应为 chengyun/{{街道}}/sensors/{{传感器编号}}"
                ctx.reject("bad_topic", reason, None, _excerpt(payload), None)
                continue
            if len(topics) >= _TOPIC_CACHE:
                topics.clear()
            topics[topic] = parsed
        ctx.street = parsed[0]
        _decode(ctx, out, payload, parsed[1])
    return out, ctx.rejected


def decode_batch(
    body: bytes,
    now: datetime,
    *,
    max_future: timedelta = DEFAULT_MAX_FUTURE,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> tuple[list[Decoded], list[Rejected]]:
    """An HTTP body (``POST /api/v1/readings``): a gateway list or a SenML pack. Never raises."""
    ctx = _context(now, max_future, max_age, None)
    out: list[Decoded] = []
    _decode(ctx, out, body, None)
    return out, ctx.rejected


def _decode(ctx: _Context, out: list[Decoded], payload: bytes, sensor_id: str | None) -> None:
    if type(payload) is not bytes:
        if not isinstance(payload, bytearray | memoryview):
            ctx.reject("wrong_shape", "报文应为字节串", sensor_id, _excerpt(str(payload)), None)
            return
        payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD_BYTES:
        reason = f"报文 {len(payload)} 字节，超过上限 {MAX_PAYLOAD_BYTES} 字节"
        ctx.reject("payload_too_large", reason, sensor_id, _excerpt(payload), None)
        return
    first = payload[:1]
    if first.isspace():
        first = payload.lstrip()[:1]
    if first == b"{" and sensor_id is not None:
        try:
            one = _READING.decode(payload)
        except (msgspec.DecodeError, ValueError, RecursionError):  # ValueError: bad UTF-8
            pass
        else:
            raw, values = one.ts, one.values
            ts = ctx.cache.get(raw) or ctx.timestamp(raw)
            if type(ts) is datetime and values and "" not in values:
                out.append(Decoded(sensor_id, ts, values, ctx.street))
            else:
                ctx.reading(sensor_id, raw, values, out, payload, None, True)
            return
    elif first == b"[":
        try:
            items = _ITEMS.decode(payload)
        except (msgspec.DecodeError, ValueError, RecursionError):
            pass
        else:
            if items:
                _typed_items(ctx, items, out)
                return
        try:
            records = _SENML.decode(payload)
        except (msgspec.DecodeError, ValueError, RecursionError):
            pass
        else:
            if records and _typed_senml(ctx, records, sensor_id, out):
                return
    ok, data = _loads(payload)
    if not ok:
        ctx.reject("malformed_json", "报文不是合法的 JSON", sensor_id, _excerpt(payload), None)
        return
    try:
        _walk(ctx, data, sensor_id, out, payload)
    except RecursionError:  # absurdly nested values; never raise
        ctx.reject("wrong_shape", "报文嵌套过深", sensor_id, _excerpt(payload), None)


def _typed_items(ctx: _Context, items: list[_Item], out: list[Decoded]) -> None:
    cache, street, append = ctx.cache, ctx.street, out.append
    for i, item in enumerate(items):
        raw = item.ts
        ts = cache.get(raw)
        if ts is None:
            ts = ctx.timestamp(raw)
        values = item.values
        # msgspec has checked the types, and JSON numbers it accepts as float are finite
        if type(ts) is datetime and values and item.sensor_id and "" not in values:
            append(Decoded(item.sensor_id, ts, values, street))
        else:
            ctx.reading(item.sensor_id, raw, values, out, item, i, True)


def _typed_senml(ctx: _Context, records: list[_Record], topic_sensor: str | None, out: list[Decoded]) -> bool:
    """SenML, the well-formed case. False (and nothing appended) at the first record that needs
    the slow path to name its problem: the caller then walks the whole pack again untyped."""
    bn, bt, bu, bv = "", 0.0, None, 0.0
    groups: dict[tuple[str, datetime], Decoded] = {}
    mark = len(out)
    last_bn, last_sensor = None, topic_sensor
    now, street, cache = ctx.now, ctx.street, ctx.cache
    for rec in records:
        if rec.bn is not None:
            bn = rec.bn
        if rec.bt is not None:
            bt = rec.bt
        if rec.bu is not None:
            bu = rec.bu
        if rec.bv is not None:
            bv = rec.bv
        v = rec.v
        if v is None:
            if rec.n is None and (
                rec.bn is not None or rec.bt is not None or rec.bu is not None or rec.bv is not None
            ):
                continue  # base fields only
            break
        n = rec.n or ""
        if bn and bn[-1] in ":/" and ":" not in n and "/" not in n:
            if bn is not last_bn:  # the usual pack: one base name per sensor, plain quantity names
                last_bn, last_sensor = bn, _senml_name(bn, topic_sensor)[0]
            sensor, quantity = last_sensor, n
        else:
            sensor, quantity = _senml_name(bn + n, topic_sensor)
        if sensor is None or not quantity:
            break
        value = v + bv
        when = bt + rec.t
        if when < _SENML_RELATIVE:
            if when < -_SENML_RELATIVE:
                break  # out of any window; the slow path names it
            ts = ctx.window(now + timedelta(seconds=when), when)
        else:
            ts = cache.get(when) or ctx.timestamp(when)
        if type(ts) is not datetime or not math.isfinite(value):
            break
        group = groups.get((sensor, ts))
        if group is None:
            group = groups[sensor, ts] = Decoded(sensor, ts, {}, street)
            out.append(group)
        group.values[quantity] = value
        unit = rec.u or bu
        if unit is not None:
            if group.units is None:
                group.units = {}
            group.units[quantity] = unit
    else:
        if len(out) > mark:
            return True
    del out[mark:]
    return False


def _walk(ctx: _Context, data: Any, sensor_id: str | None, out: list[Decoded], payload: bytes) -> None:
    """The slow path: untyped data, every problem named."""
    if isinstance(data, dict):
        if sensor_id is None:
            reason = "HTTP 批量报文应为列表（网关格式或 SenML），收到单个对象"
            ctx.reject("wrong_shape", reason, None, _excerpt(payload), None)
            return
        _object(ctx, data, sensor_id, out, None, need_id=False)
        return
    if not isinstance(data, list):
        reason = f"报文应为对象或列表，收到 {type(data).__name__}"
        ctx.reject("wrong_shape", reason, sensor_id, _excerpt(payload), None)
        return
    if not data:
        ctx.reject("empty_payload", "列表为空，没有任何读数", sensor_id, _excerpt(payload), None)
        return
    head = next((item for item in data if isinstance(item, dict)), None)
    if head is not None and ("sensor_id" in head or "values" in head):
        for i, item in enumerate(data):
            _object(ctx, item, sensor_id, out, i, need_id=True)
    else:
        _senml(ctx, data, sensor_id, out)


def _object(
    ctx: _Context, item: Any, sensor_id: str | None, out: list[Decoded], index: int | None, *, need_id: bool
) -> None:
    if not isinstance(item, dict):
        reason = f"读数应为对象，收到 {type(item).__name__}"
        ctx.reject("wrong_shape", reason, None if need_id else sensor_id, _item_excerpt(item), index)
        return
    sid = sensor_id
    if need_id:
        raw_id = item.get("sensor_id")
        if raw_id is None:
            ctx.reject("missing_field", "缺少字段 sensor_id", None, _item_excerpt(item), index)
            return
        if not isinstance(raw_id, str) or not raw_id.strip():
            ctx.reject("bad_sensor_id", f"sensor_id {raw_id!r} 无效", None, _item_excerpt(item), index)
            return
        sid = raw_id
    assert sid is not None
    missing = [name for name in ("ts", "values") if name not in item]
    if missing:
        ctx.reject("missing_field", f"缺少字段 {', '.join(missing)}", sid, _item_excerpt(item), index)
        return
    values = item["values"]
    if not isinstance(values, dict):
        reason = f"values 应为对象（名称: 数字），收到 {type(values).__name__}"
        ctx.reject("wrong_shape", reason, sid, _item_excerpt(item), index)
        return
    ctx.reading(sid, item["ts"], values, out, item, index, False)


@functools.lru_cache(maxsize=65536)
def _senml_name(name: str, topic_sensor: str | None) -> tuple[str | None, str]:
    """Resolved SenML name -> (sensor id, quantity)."""
    cut = max(name.rfind(":"), name.rfind("/"))
    if cut < 0:
        return topic_sensor, name
    sensor, quantity = name[:cut], name[cut + 1 :]
    if sensor.startswith("urn:dev:"):
        sensor = sensor.rsplit(":", 1)[-1]
    return (sensor or topic_sensor), quantity


def _number(value: object) -> bool:
    return type(value) is float or type(value) is int


def _senml(ctx: _Context, records: list[Any], topic_sensor: str | None, out: list[Decoded]) -> None:
    before = len(out), len(ctx.rejected)
    _senml_records(ctx, records, topic_sensor, out)
    if (len(out), len(ctx.rejected)) == before:  # only base fields: say so rather than drop it
        reason = "SenML 报文只有基准字段，没有任何读数"
        ctx.reject("empty_payload", reason, topic_sensor, _item_excerpt(records), None)


def _senml_records(ctx: _Context, records: list[Any], topic_sensor: str | None, out: list[Decoded]) -> None:
    bn, bt, bu, bv = "", 0.0, None, 0.0
    groups: dict[tuple[str, datetime], Decoded] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            ctx.reject(
                "wrong_shape", f"SenML 记录应为对象，收到 {type(rec).__name__}", None, _item_excerpt(rec), i
            )
            continue
        unknown = [key for key in rec if isinstance(key, str) and key.endswith("_")]
        if unknown:
            reason = f"SenML 记录含必须理解的字段 {', '.join(unknown)}"
            ctx.reject("senml_unsupported", reason, None, _item_excerpt(rec), i)
            continue
        # Base fields apply to this record and the following ones.
        if "bn" in rec:
            if not isinstance(rec["bn"], str):
                ctx.reject("wrong_shape", "SenML bn 应为字符串", None, _item_excerpt(rec), i)
                continue
            bn = rec["bn"]
        if "bt" in rec:
            if not _number(rec["bt"]) or not math.isfinite(rec["bt"]):
                ctx.reject(
                    "bad_timestamp", f"SenML bt {rec['bt']!r} 不是有限数字", None, _item_excerpt(rec), i
                )
                continue
            bt = float(rec["bt"])
        if "bu" in rec:
            bu = rec["bu"] if isinstance(rec["bu"], str) else None
        if "bv" in rec:
            if not _number(rec["bv"]) or not math.isfinite(rec["bv"]):
                ctx.reject("not_numeric", f"SenML bv {rec['bv']!r} 不是有限数字", None, _item_excerpt(rec), i)
                continue
            bv = float(rec["bv"])
        n = rec.get("n", "")
        if not isinstance(n, str):
            ctx.reject("wrong_shape", "SenML n 应为字符串", None, _item_excerpt(rec), i)
            continue
        has_value = any(key in rec for key in ("v", "vs", "vb", "vd", "s"))
        if not has_value:
            if "n" in rec or "v" in rec:
                ctx.reject("missing_field", "SenML 记录缺少数值 v", None, _item_excerpt(rec), i)
            elif not any(key in rec for key in ("bn", "bt", "bu", "bv", "bver")):
                ctx.reject("missing_field", "SenML 记录缺少 n 和 v", None, _item_excerpt(rec), i)
            continue  # a record carrying only base fields is fine
        sensor, quantity = _senml_name(bn + n, topic_sensor)
        if sensor is None:
            reason = f"SenML 名称 {bn + n!r} 中没有传感器编号（应为 传感器编号:数值名称）"
            ctx.reject("senml_no_sensor", reason, None, _item_excerpt(rec), i)
            continue
        if not quantity:
            ctx.reject("bad_value_name", f"SenML 名称 {bn + n!r} 没有数值名称", sensor, _item_excerpt(rec), i)
            continue
        if "v" not in rec:
            kind = next(key for key in ("vs", "vb", "vd", "s") if key in rec)
            reason = f"数值 {quantity} 以 {kind} 给出，只接受数字 v"
            ctx.reject("not_numeric", reason, sensor, _item_excerpt(rec), i)
            continue
        failure = _value_failure(quantity, rec["v"])
        if failure is not None:
            ctx.reject(failure[0], failure[1], sensor, _item_excerpt(rec), i)
            continue
        t = rec.get("t", 0.0)
        if not _number(t) or not math.isfinite(t):
            ctx.reject("bad_timestamp", f"SenML t {t!r} 不是有限数字", sensor, _item_excerpt(rec), i)
            continue
        when = bt + float(t)
        ts: datetime | _Failure
        if when < _SENML_RELATIVE:  # relative to now (RFC 8428 section 4.5.3)
            try:
                ts = ctx.window(ctx.now + timedelta(seconds=when), when)
            except OverflowError:
                ts = "bad_timestamp", f"SenML 相对时间 {when} 超出范围"
        else:
            ts = ctx.timestamp(when)
        if isinstance(ts, tuple):
            ctx.reject(ts[0], ts[1], sensor, _item_excerpt(rec), i)
            continue
        value = float(rec["v"]) + bv
        if not math.isfinite(value):
            ctx.reject("not_finite", f"数值 {quantity} 加上 bv 后不是有限数", sensor, _item_excerpt(rec), i)
            continue
        unit = rec.get("u", bu)
        group = groups.get((sensor, ts))
        if group is None:
            group = groups[sensor, ts] = Decoded(sensor, ts, {}, ctx.street)
            out.append(group)
        group.values[quantity] = value
        if isinstance(unit, str):
            if group.units is None:
                group.units = {}
            group.units[quantity] = unit
