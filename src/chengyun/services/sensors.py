"""The sensor registry, what the sensors said, and the alarms people look at and acknowledge.

Ingestion itself (readings in, rules, alarms raised and cleared) is services/ingest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chengyun.domain.access import DISPATCHERS, READERS, SUPERVISORS, Actor, require_role, require_street
from chengyun.domain.alarms import Alarm, AlarmEvent, AlarmPolicy
from chengyun.domain.errors import InvalidInput, NotFound
from chengyun.domain.sensors import (
    CSV_COLUMNS,
    Sensor,
    SensorKind,
    sensor_to_row,
    sensors_from_geojson,
    sensors_from_rows,
)
from chengyun.services.directory import read_csv, write_csv
from chengyun.services.ports import (
    AlarmQuery,
    AlarmRecord,
    Clock,
    DeadLetter,
    SensorLive,
    SeriesPoint,
    UnitOfWorkFactory,
)

RESOLUTIONS = {"raw": timedelta(hours=6), "1m": timedelta(days=7), "1h": timedelta(days=366)}


@dataclass(frozen=True)
class SensorPage:
    items: list[Sensor]
    total: int


@dataclass(frozen=True)
class DeadLetterPage:
    items: list[DeadLetter]
    total: int
    counts: dict[str, int]  # by code, over the same street and time


class SensorService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        on_registered: Callable[[Sequence[Sensor]], None] = lambda _: None,
        publish: Callable[[Sequence[AlarmEvent]], None] = lambda _: None,
        policy: AlarmPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._on_registered = on_registered
        self._publish = publish
        self._policy = policy or AlarmPolicy()

    # --- registry ------------------------------------------------------------------------------------

    def import_csv(self, actor: Actor, street: str, text: str) -> int:
        _may_edit(actor, street)
        rows = read_csv(text, ("id", "kind", "lon", "lat", "watches"))
        return self._register(street, lambda places: sensors_from_rows(rows, street, places))

    def import_geojson(self, actor: Actor, street: str, collection: Mapping[str, Any]) -> int:
        _may_edit(actor, street)
        return self._register(street, lambda places: sensors_from_geojson(collection, street, places))

    def _register(self, street: str, parse: Callable[[set[str]], list[Sensor]]) -> int:
        with self._uow() as uow:
            places = {p.code for p in uow.places.list(street)}
            if not places:
                raise InvalidInput(f"街道 {street} 还没有地点数据，请先导入地点", street=street)
            sensors = parse(places)
            owners = uow.sensors.owners(s.id for s in sensors)  # not every street's registry
            others = [s.id for s in sensors if owners.get(s.id, street) != street]
            if others:
                raise InvalidInput(
                    f"传感器编号已被其他街道使用：{'、'.join(others[:5])}",
                    code="sensor_id_taken",
                    ids=others[:20],
                )
            count = uow.sensors.upsert(sensors)
            uow.commit()
        self._on_registered(sensors)
        return count

    def remove(self, actor: Actor, street: str, sensor_ids: Sequence[str]) -> int:
        _may_edit(actor, street)
        with self._uow() as uow:
            n = uow.sensors.remove(street, sensor_ids)
            uow.commit()
        self._on_registered([])
        return n

    def export_csv(self, actor: Actor, street: str) -> str:
        return write_csv([sensor_to_row(s) for s in self.find(actor, street, limit=None).items], CSV_COLUMNS)

    def export_geojson(self, actor: Actor, street: str) -> dict[str, Any]:
        sensors = self.find(actor, street, limit=None).items
        return {"type": "FeatureCollection", "features": [s.as_feature() for s in sensors]}

    def find(
        self,
        actor: Actor,
        street: str,
        kind: SensorKind | None = None,
        watches: str | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> SensorPage:
        _may_read(actor, street)
        with self._uow() as uow:
            items = uow.sensors.list(street, kind, watches, limit, offset)
            total = uow.sensors.count(street, kind, watches)
            return SensorPage(items, total)

    def get(self, actor: Actor, sensor_id: str) -> tuple[Sensor, SensorLive | None]:
        require_role(actor, READERS, "查看传感器")
        with self._uow() as uow:
            sensor = uow.sensors.get(sensor_id)
            if not actor.sees_street(sensor.street):
                raise NotFound(f"传感器 {sensor_id} 不存在", sensor=sensor_id)
            return sensor, uow.sensors.live([sensor_id], lock=False).get(sensor_id)

    def series(
        self,
        actor: Actor,
        sensor_id: str,
        quantity: str,
        since: datetime | None = None,
        until: datetime | None = None,
        resolution: str = "1m",
    ) -> list[SeriesPoint]:
        if resolution not in RESOLUTIONS:
            raise InvalidInput(f"分辨率应为 {'、'.join(RESOLUTIONS)} 之一", resolution=resolution)
        sensor, _ = self.get(actor, sensor_id)
        if quantity not in sensor.units:
            raise InvalidInput(
                f"{sensor.kind.label}传感器没有测量量 {quantity}（应为 {'、'.join(sensor.units)}）",
                code="unknown_quantity",
            )
        until = until or self._clock.now()
        since = since or until - RESOLUTIONS[resolution] / 6
        if since >= until:
            raise InvalidInput("起始时间应早于结束时间")
        if until - since > RESOLUTIONS[resolution]:
            raise InvalidInput(
                f"{resolution} 分辨率一次最多查询 {RESOLUTIONS[resolution].total_seconds() / 3600:g} 小时",
                code="range_too_long",
            )
        with self._uow() as uow:
            return uow.sensors.series(sensor_id, quantity, since, until, resolution)

    def dead_letters(
        self,
        actor: Actor,
        street: str | None,
        code: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> DeadLetterPage:
        require_role(actor, SUPERVISORS, "查看拒收记录")
        if street is None and not actor.is_district:
            raise InvalidInput("请指定街道", code="street_required")
        if street is not None:
            require_street(actor, street)
        with self._uow() as uow:
            items, total = uow.sensors.dead_letters(street, code, since, limit, offset)
            return DeadLetterPage(items, total, uow.sensors.dead_letter_counts(street, since))

    # --- alarms --------------------------------------------------------------------------------------

    def alarms(self, actor: Actor, query: AlarmQuery) -> tuple[list[Alarm], int]:
        require_role(actor, READERS, "查看告警")
        if query.street is not None:
            require_street(actor, query.street)
        if not actor.is_district:
            query = AlarmQuery(**{**query.__dict__, "streets": actor.streets})
        with self._uow() as uow:
            return uow.sensors.search_alarms(query)

    def alarm(self, actor: Actor, alarm_id: int) -> tuple[Alarm, list[AlarmRecord]]:
        require_role(actor, READERS, "查看告警")
        with self._uow() as uow:
            alarm = uow.sensors.get_alarm(alarm_id)
            if not actor.sees_street(alarm.street):
                raise NotFound(f"告警 {alarm_id} 不存在", alarm=alarm_id)
            return alarm, uow.sensors.alarm_history(alarm_id)

    def acknowledge(self, actor: Actor, alarm_id: int) -> Alarm:
        """An operator has seen the alarm (确认)."""
        require_role(actor, DISPATCHERS, "确认告警")
        with self._uow() as uow:
            alarm = uow.sensors.get_alarm(alarm_id, for_update=True)
            if not actor.sees_street(alarm.street):
                raise NotFound(f"告警 {alarm_id} 不存在", alarm=alarm_id)
            event = alarm.acknowledge(actor.who.name, self._clock.now(), self._policy)
            uow.sensors.save_alarms([alarm])
            uow.commit()
        self._publish([event])
        return alarm


def _may_edit(actor: Actor, street: str) -> None:
    require_role(actor, SUPERVISORS, "修改传感器登记")
    require_street(actor, street)


def _may_read(actor: Actor, street: str) -> None:
    require_role(actor, READERS, "查看传感器")
    require_street(actor, street)
