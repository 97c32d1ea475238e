"""The complaint classifier adapter, the shipped catalogue and the generated corpus it learns from."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from chengyun.adapters.classifier import (
    TfidfSvmClassifier,
    catalogue_examples,
    load_builtin_examples,
    words,
)
from chengyun.bootstrap import builtin_categories
from chengyun.services.classify import evaluate
from chengyun.services.ports import Example
from chengyun.sim.jingansi import departments

ROOT = Path(__file__).resolve().parents[2]
TILE = "南京西路某商场门口人行道大理石地砖翘起，我晚上路过绊倒了手臂受伤"


@pytest.fixture(scope="module")
def model() -> TfidfSvmClassifier:
    examples = [e for e in load_builtin_examples() if e.split == "train"]
    classifier = TfidfSvmClassifier()
    classifier.fit(examples + catalogue_examples(builtin_categories()))
    return classifier


def test_the_tile_complaint_ranks_pavement_slabs_first(model: TfidfSvmClassifier) -> None:
    ranked = model.predict(TILE, 3)

    assert ranked[0][0] == "200101"
    assert len(ranked) == 3
    confidences = [p for _, p in ranked]
    assert confidences == sorted(confidences, reverse=True)
    assert 0 < sum(confidences) <= 1.0 + 1e-9


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("愚园路江苏路口路灯不亮好几天了", "100118"),
        ("楼下饭店油烟直排，窗户都不能开", "900108"),
        ("有人在楼道里飞线给电瓶车充电", "900106"),
        ("马路上塌了一个大坑", "040101"),
    ],
)
def test_plain_complaints_land_in_their_category(model: TfidfSvmClassifier, text: str, code: str) -> None:
    assert model.predict(text, 1)[0][0] == code


def test_the_user_dictionary_keeps_street_lamp_whole() -> None:
    assert words("路灯不亮") == ["路灯", "不亮"]
    assert "井盖" in words("人行道上井盖松动了")


def test_held_out_accuracy_stays_where_it_was_measured() -> None:
    examples = load_builtin_examples()
    train = [e for e in examples if e.split == "train"] + catalogue_examples(builtin_categories())
    test = [e for e in examples if e.split == "test"]

    result = evaluate(TfidfSvmClassifier, train, test)

    assert result.tested_on == len(test) > 400
    assert result.top1 >= 0.85 and result.top3 >= 0.95


def test_a_model_needs_two_categories() -> None:
    with pytest.raises(ValueError, match="two categories"):
        TfidfSvmClassifier().fit([Example("路灯不亮", "100118"), Example("路灯坏了", "100118")])


# --- the shipped catalogue and corpus -----------------------------------------------------------------


def test_the_catalogue_follows_the_standard_and_the_demo_departments() -> None:
    catalogue = {c.code: c for c in builtin_categories()}
    known_departments = {d["code"] for d in departments()}

    assert 60 <= len(catalogue) <= 75
    assert (catalogue["200101"].name, catalogue["100118"].name, catalogue["900101"].name) == (
        "人行道板",
        "路灯",
        "噪声扰民",
    )
    assert {c.department for c in catalogue.values()} <= known_departments
    components = {c.major for c in catalogue.values() if c.kind.value == "component"}
    events = {c.major for c in catalogue.values() if c.kind.value == "event"}
    assert components == {"公用设施", "道路交通", "市容环境", "园林绿化", "房屋土地", "其他设施"}
    assert events == {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "其他"}
    (noise_source, *_) = catalogue["900101"].attributes
    assert noise_source.required and [n for _, n in noise_source.values] == ["施工", "商铺", "邻居", "其他"]
    assert not catalogue["100118"].attributes[0].required


def test_every_category_has_examples_in_both_splits() -> None:
    examples = load_builtin_examples()
    codes = {c.code for c in builtin_categories()}
    train = Counter(e.code for e in examples if e.split == "train")
    test = Counter(e.code for e in examples if e.split == "test")

    assert set(train) == set(test) == codes
    assert min(train.values()) >= 25 and min(test.values()) >= 5
    assert 2000 <= len(examples) <= 3500
    assert 0.15 <= sum(test.values()) / len(examples) <= 0.25
    assert len({e.text for e in examples}) > 0.95 * len(examples)


def test_every_category_is_said_in_many_ways_and_some_held_out_ways_are_new() -> None:
    rows = [
        json.loads(line)
        for line in (ROOT / "src/chengyun/data/complaints.jsonl").read_text("utf-8").split("\n")
        if line
    ]
    phrasings: dict[str, set[str]] = {}
    for row in rows:
        phrasings.setdefault(row["code"], set()).add(row["phrasing"])
    seen = {r["phrasing"] for r in rows if r["split"] == "train"}
    test = [r for r in rows if r["split"] == "test"]

    assert min(len(p) for p in phrasings.values()) >= 25
    assert len(rows) <= 1.6 * sum(len(p) for p in phrasings.values())  # wording, not copies
    assert sum(r["phrasing"] not in seen for r in test) >= 0.4 * len(test)


def test_the_corpus_is_what_the_generator_makes() -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_corpus"] = module
    spec.loader.exec_module(module)

    rows = module.make({c.code for c in builtin_categories()})

    assert [(r["text"], r["code"], r["split"]) for r in rows] == [
        (e.text, e.code, e.split) for e in load_builtin_examples()
    ]
