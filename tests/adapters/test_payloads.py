from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chengyun.adapters.payloads import (
    MAX_PAYLOAD_BYTES,
    REJECTION_CODES,
    Decoded,
    Rejected,
    decode_batch,
    decode_message,
    decode_messages,
)

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
EPOCH = NOW.timestamp() - 60  # a minute ago
TOPIC = "chengyun/T/sensors/S-1"


def msg(payload: object, topic: str = TOPIC) -> tuple[list[Decoded], list[Rejected]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return decode_message(topic, raw, NOW)


def batch(payload: object) -> tuple[list[Decoded], list[Rejected]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return decode_batch(raw, NOW)


def codes(rejected: list[Rejected]) -> list[str]:
    assert all(r.code in REJECTION_CODES and r.reason for r in rejected)
    return [r.code for r in rejected]


# --- formats ---------------------------------------------------------------------------------------


def test_contract_object_with_iso_time() -> None:
    good, bad = msg({"ts": "2026-11-25T15:59:30+08:00", "values": {"tilt_x": 0.12, "tilt_y": -3}})
    assert bad == []
    assert good == [
        Decoded("S-1", datetime(2026, 11, 25, 7, 59, 30, tzinfo=UTC), {"tilt_x": 0.12, "tilt_y": -3.0}, "T")
    ]
    assert good[0].ts.tzinfo is UTC
    assert type(good[0].values["tilt_y"]) is float


def test_contract_object_with_epoch_seconds_and_z_suffix() -> None:
    (a,), _ = msg({"ts": EPOCH, "values": {"level": 1.5}})
    (b,), _ = msg({"ts": "2026-11-25T07:59:00Z", "values": {"level": 1.5}})
    assert a.ts == b.ts == NOW - timedelta(minutes=1)
    (c,), _ = msg({"ts": int(EPOCH), "values": {"level": 1}})
    assert c.ts == a.ts


def test_gateway_message_over_mqtt_carries_many_sensors() -> None:
    items = [{"sensor_id": f"S-{i}", "ts": EPOCH, "values": {"fill": i}} for i in range(100)]
    good, bad = msg(items, topic="chengyun/T/sensors/GW-7")
    assert bad == []
    assert [d.sensor_id for d in good] == [f"S-{i}" for i in range(100)]
    assert all(d.street == "T" for d in good)
    assert good[42].values == {"fill": 42.0}


def test_http_batch_gateway_list() -> None:
    good, bad = batch([{"sensor_id": "A", "ts": "2026-11-25T07:00:00Z", "values": {"db": 61.5}}])
    assert bad == []
    assert good == [Decoded("A", datetime(2026, 11, 25, 7, tzinfo=UTC), {"db": 61.5})]


def test_senml_with_base_name_time_unit_and_value() -> None:
    pack = [
        {"bn": "urn:dev:ow:10e2073a01080063:", "bt": EPOCH, "bu": "mm", "bv": 10, "n": "crack", "v": 0.5},
        {"n": "tilt", "u": "deg", "v": -0.25},
        {"n": "crack", "t": 30, "v": 0.75},
        {"bn": "S-9:", "bv": 0, "n": "water", "u": "m", "v": 1.25, "t": -60},
    ]
    good, bad = batch(pack)
    assert bad == []
    first = NOW - timedelta(minutes=1)
    assert good == [
        Decoded(
            "10e2073a01080063", first, {"crack": 10.5, "tilt": 9.75}, None, {"crack": "mm", "tilt": "deg"}
        ),
        Decoded("10e2073a01080063", first + timedelta(seconds=30), {"crack": 10.75}, None, {"crack": "mm"}),
        Decoded("S-9", first - timedelta(minutes=1), {"water": 1.25}, None, {"water": "m"}),
    ]


def test_senml_over_mqtt_plain_names_belong_to_the_topic_sensor_and_relative_time_is_now() -> None:
    good, bad = msg([{"n": "temp", "v": 21.5}, {"n": "hum", "v": 40, "t": -10}])
    assert bad == []
    assert good == [
        Decoded("S-1", NOW, {"temp": 21.5}, "T"),
        Decoded("S-1", NOW - timedelta(seconds=10), {"hum": 40.0}, "T"),
    ]


def test_senml_slash_separator() -> None:
    (d,), bad = batch([{"bn": "gw/S-3/", "n": "smoke", "v": 0, "t": EPOCH}])
    assert bad == [] and d.sensor_id == "gw/S-3" and d.values == {"smoke": 0.0}


# --- rejections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        "chengyun/T/sensors",
        "chengyun/T/sensors/",
        "other/T/sensors/S",
        "chengyun/T/alarms/S",
        "chengyun/+/sensors/S",
        "chengyun/T/sensors/S/extra",
        "chengyun//sensors/S",
    ],
)
def test_bad_topic(topic: str) -> None:
    good, bad = msg({"ts": EPOCH, "values": {"a": 1}}, topic=topic)
    assert good == [] and codes(bad) == ["bad_topic"]


def test_oversized_payload_is_rejected_whole_without_parsing() -> None:
    items = [{"sensor_id": "S", "ts": EPOCH, "values": {"x": 1.0}}] * 8000
    raw = json.dumps(items).encode()
    assert len(raw) > MAX_PAYLOAD_BYTES
    good, bad = decode_batch(raw, NOW)
    assert good == [] and codes(bad) == ["payload_too_large"]
    assert str(len(raw)) in bad[0].reason and len(bad[0].excerpt) <= 120


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"ts": 1,}', b"\xff\xfe\x00garbage", b"[1, 2"])
def test_malformed_json(raw: bytes) -> None:
    good, bad = decode_message(TOPIC, raw, NOW)
    assert good == [] and codes(bad) == ["malformed_json"]
    assert bad[0].sensor_id == "S-1"


@pytest.mark.parametrize("payload", [42, "text", None, [1, 2]])
def test_wrong_shape(payload: object) -> None:
    good, bad = msg(payload)
    assert good == [] and codes(bad) == ["wrong_shape"] * (2 if payload == [1, 2] else 1)


def test_http_body_must_be_a_list() -> None:
    good, bad = batch({"ts": EPOCH, "values": {"a": 1}})
    assert good == [] and codes(bad) == ["wrong_shape"]


def test_empty_list_is_reported_not_silently_dropped() -> None:
    assert codes(batch([])[1]) == ["empty_payload"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"values": {"a": 1}}, "missing_field"),
        ({"ts": EPOCH}, "missing_field"),
        ({"ts": EPOCH, "values": {}}, "empty_values"),
        ({"ts": EPOCH, "values": [1, 2]}, "wrong_shape"),
        ({"ts": EPOCH, "values": {"a": "1.5"}}, "not_numeric"),
        ({"ts": EPOCH, "values": {"a": True}}, "not_numeric"),
        ({"ts": EPOCH, "values": {"a": None}}, "not_numeric"),
        ({"ts": EPOCH, "values": {"a": {"v": 1}}}, "not_numeric"),
        ({"ts": EPOCH, "values": {"": 1}}, "bad_value_name"),
        ({"ts": "yesterday", "values": {"a": 1}}, "bad_timestamp"),
        ({"ts": True, "values": {"a": 1}}, "bad_timestamp"),
        ({"ts": None, "values": {"a": 1}}, "bad_timestamp"),
        ({"ts": EPOCH * 1000, "values": {"a": 1}}, "bad_timestamp"),
        ({"ts": -5, "values": {"a": 1}}, "bad_timestamp"),
        ({"ts": "2026-11-25T07:59:00", "values": {"a": 1}}, "ts_no_timezone"),
        ({"ts": EPOCH + 3600, "values": {"a": 1}}, "ts_future"),
        ({"ts": "2020-01-01T00:00:00Z", "values": {"a": 1}}, "ts_too_old"),
    ],
)
def test_each_bad_reading(payload: dict[str, object], code: str) -> None:
    good, bad = msg(payload)
    assert good == [] and codes(bad) == [code]
    assert bad[0].sensor_id == "S-1" and bad[0].excerpt


@pytest.mark.parametrize(
    ("literal", "shown"), [(b"NaN", "nan"), (b"Infinity", "inf"), (b"-Infinity", "-inf"), (b"1e999", "inf")]
)
def test_non_finite_values_are_rejected_and_siblings_kept(literal: bytes, shown: str) -> None:
    raw = b'{"ts": %d, "values": {"ok": 2.5, "bad": %s}}' % (int(EPOCH), literal)
    good, bad = decode_message(TOPIC, raw, NOW)
    assert [d.values for d in good] == [{"ok": 2.5}]
    assert codes(bad) == ["not_finite"]
    assert "bad" in bad[0].reason and shown in bad[0].reason


def test_mixed_good_and_bad_in_a_gateway_batch() -> None:
    items: list[object] = [
        {"sensor_id": "A", "ts": EPOCH, "values": {"x": 1}},
        {"sensor_id": "B", "ts": "garbage", "values": {"x": 1}},
        "not an object",
        {"ts": EPOCH, "values": {"x": 1}},
        {"sensor_id": 7, "ts": EPOCH, "values": {"x": 1}},
        {"sensor_id": "C", "ts": EPOCH, "values": {"x": "high", "y": 3}},
        {"sensor_id": "D", "ts": EPOCH},
        {"sensor_id": "E", "ts": EPOCH, "values": {"z": -1e-3}},
    ]
    good, bad = batch(items)
    assert [(d.sensor_id, d.values) for d in good] == [
        ("A", {"x": 1.0}),
        ("C", {"y": 3.0}),
        ("E", {"z": -0.001}),
    ]
    assert [(r.code, r.index, r.sensor_id) for r in bad] == [
        ("bad_timestamp", 1, "B"),
        ("wrong_shape", 2, None),
        ("missing_field", 3, None),
        ("bad_sensor_id", 4, None),
        ("not_numeric", 5, "C"),
        ("missing_field", 6, "D"),
    ]
    assert "high" in bad[4].excerpt and "values" in bad[5].reason


def test_senml_rejections_keep_good_records() -> None:
    pack: list[object] = [
        {"bn": "S-5:", "bt": EPOCH, "n": "level", "v": 0.4},
        {"n": "state", "vb": True},
        {"n": "label", "vs": "on"},
        {"n": "bad", "v": "1"},
        {"n": "flag", "v": False},
        {"n": "x", "v": 1, "ext_": 1},
        {"bn": "", "n": "orphan", "v": 1},
        {"bn": "S-6:", "n": "", "v": 1},
        {"bn": "S-6:", "n": "q"},
        {"n": "late", "v": 1, "t": 7200},
        7,
        {"bn": "S-6:", "n": "ok", "v": 2, "t": 0},
    ]
    good, bad = batch(pack)
    assert [(d.sensor_id, d.values) for d in good] == [("S-5", {"level": 0.4}), ("S-6", {"ok": 2.0})]
    assert [(r.code, r.index) for r in bad] == [
        ("not_numeric", 1),
        ("not_numeric", 2),
        ("not_numeric", 3),
        ("not_numeric", 4),
        ("senml_unsupported", 5),
        ("senml_no_sensor", 6),
        ("bad_value_name", 7),
        ("missing_field", 8),
        ("ts_future", 9),
        ("wrong_shape", 10),
    ]


def test_other_time_zones_are_converted_to_utc() -> None:
    tz = timezone(timedelta(hours=-5))
    (d,), _ = msg({"ts": datetime(2026, 11, 25, 2, 59, tzinfo=tz).isoformat(), "values": {"a": 1}})
    assert d.ts == datetime(2026, 11, 25, 7, 59, tzinfo=UTC) and d.ts.utcoffset() == timedelta(0)


# --- never raise ------------------------------------------------------------------------------------


def test_random_bytes_never_raise() -> None:
    rng = random.Random(20261125)
    seeds = [
        b'{"ts": 1795593540, "values": {"a": 1.5}}',
        b'[{"sensor_id": "A", "ts": "2026-11-25T07:59:00Z", "values": {"x": 2}}]',
        b'[{"bn": "S:", "bt": 1795593540, "n": "v", "v": 1, "u": "m"}]',
    ]
    for _ in range(10_000):
        kind = rng.random()
        if kind < 0.3:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        else:  # mutate a valid payload: flip, drop or insert bytes
            raw = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                pos = rng.randrange(len(raw))
                op = rng.randrange(3)
                if op == 0:
                    raw[pos] = rng.randrange(256)
                elif op == 1:
                    del raw[pos]
                else:
                    raw.insert(pos, rng.choice(b'{}[]",:0-9eE.NaInfitytruefalsenull '))
            raw = bytes(raw)
        for good, bad in (decode_message(TOPIC, raw, NOW), decode_batch(raw, NOW)):
            assert all(isinstance(d, Decoded) for d in good)
            assert all(r.code in REJECTION_CODES for r in bad)
            assert good or bad  # never silently dropped


def random_json(rng: random.Random, depth: int = 0) -> object:
    pick = rng.randrange(10 if depth < 3 else 7)
    atoms: list[object] = [None, True, 1.5, -7, "", "2026-11-25T07:59:00Z", EPOCH]
    if pick < 7:
        return atoms[pick]
    if pick < 8:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["ts", "values", "sensor_id", "bn", "bt", "bv", "bu", "n", "v", "u", "t", "vb", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_random_json_shapes_never_raise() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        shape = random_json(rng)
        payload = rng.choice(
            [
                shape,
                [shape],
                {"ts": EPOCH, "values": shape},
                [{"sensor_id": "A", "ts": EPOCH, "values": shape}],
            ]
        )
        raw = json.dumps(payload).encode()
        for good, bad in (decode_message(TOPIC, raw, NOW), decode_batch(raw, NOW)):
            assert all(isinstance(d, Decoded) and d.values for d in good)
            assert all(r.code in REJECTION_CODES for r in bad)
            assert good or bad


def test_deep_nesting_does_not_raise() -> None:
    good, bad = decode_batch(b"[" * 100_000 + b"]" * 100_000, NOW)
    assert good == [] and len(bad) == 1


def test_senml_pack_with_only_base_fields_is_reported() -> None:
    good, bad = batch([{"bn": "S-1:", "bt": EPOCH}])
    assert good == [] and codes(bad) == ["empty_payload"]


def test_senml_fast_and_slow_paths_agree() -> None:
    pack: list[dict[str, object]] = [
        {"bn": "S-1:", "bt": EPOCH, "bu": "m", "n": "level", "v": 0.5},
        {"n": "flow", "u": "m3/h", "v": 2, "t": -5},
        {"bn": "urn:dev:mac:0024be:", "n": "tilt", "v": -1},
        {"n": "when_relative", "v": 3, "bt": 0, "t": -1e300},
    ]
    fast, none = batch(pack[:3])
    slow, bad = batch([*pack[:3], {"n": "flag", "vb": True}])  # a boolean record forces the slow path
    assert none == [] and codes(bad) == ["not_numeric"]
    assert fast == slow and len(fast) == 3
    good, bad = batch(pack)
    assert good == fast and codes(bad) == ["bad_timestamp"]


def test_many_messages_at_once_match_one_by_one() -> None:
    messages = [
        ("chengyun/T/sensors/S-1", b'{"ts": %d, "values": {"a": 1}}' % int(EPOCH)),
        ("chengyun/U/sensors/S-2", b'{"ts": "2026-11-25T07:59:00Z", "values": {"b": 2}}'),
        ("bad/topic", b"{}"),
        ("chengyun/T/sensors/S-3", b"{oops"),
    ]
    good, bad = decode_messages(messages, NOW)
    assert [(d.street, d.sensor_id, d.values) for d in good] == [
        ("T", "S-1", {"a": 1.0}),
        ("U", "S-2", {"b": 2.0}),
    ]
    assert codes(bad) == ["bad_topic", "malformed_json"]
    one_by_one = [decode_message(t, p, NOW) for t, p in messages]
    assert [d for g, _ in one_by_one for d in g] == good
    assert [r for _, b in one_by_one for r in b] == bad
