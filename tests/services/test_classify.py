"""ClassifierService: input checks, per-street models limited to the catalogue, corrections that persist."""

from __future__ import annotations

import pytest

from builders import DOG, DOG_TEXTS
from chengyun.adapters.classifier import TfidfSvmClassifier, catalogue_examples, load_builtin_examples
from chengyun.adapters.clock import ManualClock
from chengyun.bootstrap import builtin_categories
from chengyun.domain.categories import Catalogue, Category
from chengyun.domain.errors import InvalidInput
from chengyun.services.classify import ClassifierService
from chengyun.services.ports import UnitOfWorkFactory
from street import T0

CODES = ("100118", "200101", "900101", "900108", "040101", "010101")


class Catalogues:
    """catalogue_for as the center gives it: the street's current catalogue."""

    def __init__(self) -> None:
        every = {c.code: c for c in builtin_categories()}
        self.by_street: dict[str, list[Category]] = {"T": [every[c] for c in CODES]}

    def __call__(self, street: str) -> Catalogue:
        return Catalogue(self.by_street[street])


@pytest.fixture
def catalogues() -> Catalogues:
    return Catalogues()


def service(uow_factory: UnitOfWorkFactory, catalogues: Catalogues) -> ClassifierService:
    builtin = [e for e in load_builtin_examples() if e.code in CODES]
    return ClassifierService(
        uow_factory, ManualClock(T0), catalogues, TfidfSvmClassifier, lambda: builtin, catalogue_examples
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_text"),
        ("  \n\t", "empty_text"),
        ("路" * 2001, "text_too_long"),
        ("路灯\x00不亮", "invalid_text"),
    ],
)
def test_bad_texts_are_refused_with_a_reason(
    uow_factory: UnitOfWorkFactory, catalogues: Catalogues, text: str, code: str
) -> None:
    classifier = service(uow_factory, catalogues)

    with pytest.raises(InvalidInput) as refused:
        classifier.classify("T", text)
    assert refused.value.details["code"] == code
    with pytest.raises(InvalidInput):
        classifier.learn("T", text, "100118", "H1")


def test_candidates_come_from_the_street_catalogue_best_first(
    uow_factory: UnitOfWorkFactory, catalogues: Catalogues
) -> None:
    classifier = service(uow_factory, catalogues)

    candidates = classifier.classify("T", "常德路上路灯晚上不亮", k=3)

    assert (candidates[0].code, candidates[0].name) == ("100118", "路灯")
    assert {c.code for c in candidates} <= set(CODES)
    assert [c.confidence for c in candidates] == sorted((c.confidence for c in candidates), reverse=True)


def test_after_a_catalogue_change_only_its_codes_are_proposed(
    uow_factory: UnitOfWorkFactory, catalogues: Catalogues
) -> None:
    classifier = service(uow_factory, catalogues)
    assert classifier.classify("T", "路灯不亮")[0].code == "100118"

    catalogues.by_street["T"] = [c for c in catalogues.by_street["T"] if c.code != "100118"]
    candidates = classifier.classify("T", "路灯不亮", k=5)

    assert "100118" not in {c.code for c in candidates}
    assert abs(sum(c.confidence for c in candidates) - 1.0) < 0.01  # five of five codes: renormalised


def test_a_correction_of_an_unknown_category_is_refused(
    uow_factory: UnitOfWorkFactory, catalogues: Catalogues
) -> None:
    with pytest.raises(InvalidInput) as refused:
        service(uow_factory, catalogues).learn("T", "狗咬人", "990001", "H1")
    assert refused.value.details["code"] == "unknown_category"


def test_corrections_teach_a_new_category_after_retrain_and_survive_a_restart(
    uow_factory: UnitOfWorkFactory, catalogues: Catalogues
) -> None:
    classifier = service(uow_factory, catalogues)
    catalogues.by_street["T"].append(Category.from_dict(DOG))
    for text in DOG_TEXTS:
        classifier.learn("T", text, "990001", "H1")

    report = classifier.retrain("T")

    assert (report.corrections, report.categories) == (5, 7)
    assert report.top1 is not None and report.held_out > 0
    assert classifier.classify("T", "楼下那条狗又咬伤了一个人")[0].code == "990001"
    restarted = service(uow_factory, catalogues)  # a new process: the model is built from the database
    assert restarted.classify("T", "楼下那条狗又咬伤了一个人")[0].code == "990001"
