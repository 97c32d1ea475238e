from __future__ import annotations

import pytest

from chengyun.domain.addresses import chinese_number, directions, normalise, parse_address, road_stem


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("六百零八", 608),
        ("六零八", 608),
        ("十二", 12),
        ("二十", 20),
        ("一千六百一十八", 1618),
        ("两千零五", 2005),
        ("六", 6),
        ("〇", 0),
        ("百百", None),
        ("六六百", None),
        ("静安", None),
        ("", None),
    ],
)
def test_chinese_numerals_are_read(text: str, value: int | None) -> None:
    assert chinese_number(text) == value


def test_normalising_gives_half_width_arabic_digits_without_spaces_or_punctuation() -> None:
    assert normalise("愚园路 ６０８ 弄，六号") == "愚园路608弄6号"
    assert normalise("愚园路六百零八弄6#") == "愚园路608弄6号"
    assert normalise("南京西路一六一八號") == "南京西路1618号"
    # A numeral that is part of a name stays as it is.
    assert normalise("静安区第一中心小学") == "静安区第一中心小学"


def test_a_lane_address_is_taken_apart() -> None:
    parsed = parse_address("上海市静安区愚园路六百零八弄6号302室门口")
    assert (parsed.road, parsed.lane, parsed.house, parsed.number) == ("愚园路", 608, 6, 608)
    assert (parsed.district, parsed.qualifier, parsed.rest) == ("静安区", "门口", "302室")
    lane_only = parse_address("愚园路608弄")
    assert (lane_only.road, lane_only.lane, lane_only.house) == ("愚园路", 608, None)


def test_a_door_number_with_a_qualifier_and_a_missing_road_suffix() -> None:
    parsed = parse_address("南京西１６１８号对面")
    assert (parsed.road, parsed.number, parsed.lane, parsed.qualifier) == ("南京西", 1618, None, "对面")
    assert parsed.opposite
    assert not parse_address("南京西路1618号附近").opposite
    assert parse_address("南京西路1618").number == 1618


@pytest.mark.parametrize(
    ("text", "roads"),
    [
        ("常德路近南京西路", ("常德路", "南京西路")),
        ("常德路靠近南京西路", ("常德路", "南京西路")),
        ("常德路与南京西路交叉口", ("常德路", "南京西路")),
        ("常德路和南京西路路口", ("常德路", "南京西路")),
        ("常德路南京西路路口", ("常德路", "南京西路")),
        ("南京西路华山路口", ("南京西路", "华山")),
        ("万航渡路镇宁路路口", ("万航渡路", "镇宁路")),
    ],
)
def test_crossings_name_both_roads(text: str, roads: tuple[str, str]) -> None:
    parsed = parse_address(text)
    assert parsed.crossing == roads
    assert parsed.street is None and parsed.road is None


def test_a_landmark_is_a_name_and_prefixes_are_recognised() -> None:
    assert parse_address("静安寺门口").name == "静安寺"
    other = parse_address("徐汇区衡山路10号")
    assert (other.district, other.road, other.number) == ("徐汇区", "衡山路", 10)
    assert parse_address("静安寺街道愚园路608弄6号").street == "静安寺街道"
    # 小区 and 城区 are not districts.
    assert parse_address("景华小区").district is None
    assert parse_address("镇宁路200号").street is None


def test_road_stems_and_directions() -> None:
    assert road_stem("愚园路") == "愚园"
    assert road_stem("世纪大道") == "世纪"
    assert directions("南京西路") == "西" and directions("南京东路") == "东"
    assert directions("西康路") == "" and directions("陕西北路") == "北"
