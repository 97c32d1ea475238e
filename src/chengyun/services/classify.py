"""Classify a complaint text into the street's category catalogue, learn from dispatchers' corrections.

Each street has its own model, trained on the built-in corpus (the codes of its catalogue only), the
catalogue's own names and keywords, and the corrections stored for that street. A model is built on the
street's first classification and kept in memory; `retrain` builds a new one and swaps it in. A model built
for another version of the catalogue is rebuilt on the next classification, and whatever a model proposes
is limited to the codes of the current catalogue (confidences renormalised over them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chengyun.domain.categories import Catalogue, Category
from chengyun.domain.errors import InvalidInput
from chengyun.services.ports import Clock, Example, TextClassifier, UnitOfWorkFactory

MAX_TEXT = 2000
MAX_K = 20


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    confidence: float  # 0..1; the candidates of one answer sum to at most 1


@dataclass(frozen=True)
class TrainReport:
    street: str
    examples: int  # training examples used (corpus + catalogue words + corrections)
    corrections: int  # of which the street's stored corrections
    categories: int  # categories the model can propose
    held_out: int  # built-in test texts the accuracy was measured on
    top1: float | None  # held-out top-1 accuracy of a model trained without those texts (None: none held out)
    top3: float | None
    seconds: float  # wall time of the whole retrain


@dataclass(frozen=True)
class Evaluation:
    trained_on: int
    tested_on: int
    top1: float
    top3: float


@dataclass(frozen=True)
class _Model:
    classifier: TextClassifier
    codes: frozenset[str]  # the catalogue it was trained for


def check_text(text: str) -> str:
    """The text to classify or learn from, or InvalidInput."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("请填写诉求内容", code="empty_text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"诉求内容不能超过 {MAX_TEXT} 个字符", code="text_too_long", limit=MAX_TEXT)
    if "\x00" in text:
        raise InvalidInput("诉求内容中不能含有 NUL 字符", code="invalid_text")
    return text.strip()


def evaluate(
    make_model: Callable[[], TextClassifier],
    train: Sequence[Example],
    test: Sequence[Example],
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Top-1 and top-3 accuracy on `test` of a model trained on `train` only."""
    if not test:
        raise InvalidInput("没有可用于评估的测试样本", code="no_test_examples")
    model = make_model()
    model.fit(train)
    hits1 = hits3 = 0
    for i, example in enumerate(test, start=1):
        top = [code for code, _ in model.predict(example.text, 3)]
        hits1 += bool(top) and top[0] == example.code
        hits3 += example.code in top
        if progress is not None:
            progress(i, len(test))
    return Evaluation(len(train), len(test), hits1 / len(test), hits3 / len(test))


class ClassifierService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        catalogue_for: Callable[[str], Catalogue],
        make_model: Callable[[], TextClassifier],
        builtin_examples: Callable[[], Sequence[Example]],
        catalogue_examples: Callable[[Sequence[Category]], Sequence[Example]] = lambda _: (),
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._catalogue_for = catalogue_for
        self._make_model = make_model
        self._load_builtin = builtin_examples  # read on the first model build, not at start-up
        self._builtin: list[Example] | None = None
        self._catalogue_examples = catalogue_examples
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()  # guards the dict of per-street locks
        self._street_locks: dict[str, threading.Lock] = {}

    # --- use cases ------------------------------------------------------------------------------

    def classify(self, street: str, text: str, k: int = 3) -> list[Candidate]:
        """The k likeliest categories of the street's catalogue for a complaint text, best first."""
        text = check_text(text)
        if not 1 <= k <= MAX_K:
            raise InvalidInput(f"候选数应为 1 到 {MAX_K}", code="invalid_k")
        catalogue = self._catalogue_for(street)
        codes = frozenset(c.code for c in catalogue)
        model = self._models.get(street)
        if model is None or model.codes != codes:
            model = self._build(street, catalogue, stale=model)
        ranked = [(c, p) for c, p in model.classifier.predict(text, len(model.codes)) if c in codes]
        total = sum(p for _, p in ranked) or 1.0
        return [Candidate(code, catalogue.get(code).name, round(p / total, 4)) for code, p in ranked[:k]]

    def learn(self, street: str, text: str, code: str, by: str) -> None:
        """Keep a dispatcher's correction ("this text is that category") for the street's next model."""
        text = check_text(text)
        if code not in self._catalogue_for(street):
            raise InvalidInput(f"类别 {code} 不在本街道的类别目录中", code="unknown_category", category=code)
        with self._uow() as uow:
            uow.examples.add(street, text, code, by[:200] or "unknown", self._clock.now())
            uow.commit()

    def retrain(self, street: str) -> TrainReport:
        """Build the street's model afresh (corpus + corrections) and swap it in; report how it does."""
        started = time.perf_counter()
        catalogue = self._catalogue_for(street)
        examples, corrections = self._examples(street, catalogue)
        held_out = [e for e in examples if e.split == "test"]
        top1 = top3 = None
        if held_out and len({e.code for e in examples if e.split != "test"}) >= 2:
            trained = [e for e in examples if e.split != "test"]
            result = evaluate(self._make_model, trained, held_out)
            top1, top3 = result.top1, result.top3
        model = self._fit(catalogue, examples)
        with self._street_lock(street):
            self._models[street] = model
        return TrainReport(
            street=street,
            examples=len(examples),
            corrections=corrections,
            categories=len({e.code for e in examples}),
            held_out=len(held_out),
            top1=top1,
            top3=top3,
            seconds=round(time.perf_counter() - started, 3),
        )

    def forget(self, street: str | None = None) -> None:
        """Drop a street's model (all models with None): the next classification builds a new one."""
        if street is None:
            self._models.clear()
        else:
            self._models.pop(street, None)

    # --- models ---------------------------------------------------------------------------------

    def _build(self, street: str, catalogue: Catalogue, stale: _Model | None) -> _Model:
        # One build per street at a time; others wait for it rather than train the same model again.
        with self._street_lock(street):
            current = self._models.get(street)
            if current is not None and current is not stale:
                return current
            examples, _ = self._examples(street, catalogue)
            model = self._fit(catalogue, examples)
            self._models[street] = model
            return model

    def _examples(self, street: str, catalogue: Catalogue) -> tuple[list[Example], int]:
        codes = {c.code for c in catalogue}
        with self._uow() as uow:
            stored = [e for e in uow.examples.list(street) if e.code in codes]
        if self._builtin is None:
            self._builtin = list(self._load_builtin())
        builtin = [e for e in self._builtin if e.code in codes]
        own = [Example(e.text, e.code) for e in self._catalogue_examples(list(catalogue))]
        # A correction counts twice: it is the street's own word against the generic corpus.
        return [*builtin, *own, *stored, *stored], len(stored)

    def _fit(self, catalogue: Catalogue, examples: Sequence[Example]) -> _Model:
        codes = frozenset(c.code for c in catalogue)
        if len({e.code for e in examples}) < 2:
            raise InvalidInput("类别目录中至少要有两个类别才能训练分类模型", code="too_few_categories")
        classifier = self._make_model()
        classifier.fit(examples)
        return _Model(classifier, codes)

    def _street_lock(self, street: str) -> threading.Lock:
        with self._lock:
            lock = self._street_locks.get(street)
            if lock is None:
                lock = self._street_locks[street] = threading.Lock()
            return lock
