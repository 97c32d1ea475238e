"""Complaint classifier: held-out accuracy, latency, throughput, training time and memory, with baselines.

The shipped model (TF-IDF of character 1–3-grams and jieba words, linear SVM) is trained on the train split
of the built-in corpus plus the catalogue's own words, never on the held-out split, then asked for the
top 3 of every held-out text. "Unseen phrasing" is the part of the held-out split whose hand-written
phrasing no training text uses. Stricter still, "whole phrasings held out" is a 5-fold cross-validation over
the whole corpus grouped by phrasing: every text is predicted by a model that never saw any text made from
its phrasing (other places, times and styles of the same sentence count as the same phrasing). Baselines in
the same run: keyword matching with the catalogue's names and keywords, the majority class, and logistic
regression on the same features (not cross-validated: it trains ~10× slower).

    .venv/bin/python bench/classify.py              # 3 runs, medians (min–max)
    .venv/bin/python bench/classify.py --runs 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import med_range, percentile, proc_memory_mb, progress, table
from chengyun.adapters.classifier import TfidfSvmClassifier, catalogue_examples, load_builtin_examples
from chengyun.bootstrap import builtin_categories
from chengyun.domain.categories import Category
from chengyun.services.ports import Example, TextClassifier

CORPUS = Path(__file__).resolve().parent.parent / "src" / "chengyun" / "data" / "complaints.jsonl"


class KeywordClassifier:
    """Baseline: score each category by the catalogue words (name and keywords) found in the text, a word
    weighing its length; ties keep the catalogue's order."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self._words = [(c.code, [w for w in (c.name, *c.keywords) if w]) for c in categories]

    def fit(self, examples: Sequence[Example]) -> None:
        pass

    def predict(self, text: str, k: int) -> list[tuple[str, float]]:
        scores = [(code, sum(len(w) for w in words if w in text)) for code, words in self._words]
        ranked = sorted(scores, key=lambda s: -s[1])
        total = sum(s for _, s in ranked) or 1
        return [(code, s / total) for code, s in ranked[:k]]


class MajorityClassifier:
    """Baseline: always the categories most frequent in training."""

    def __init__(self) -> None:
        self._ranked: list[tuple[str, float]] = []

    def fit(self, examples: Sequence[Example]) -> None:
        counts = Counter(e.code for e in examples)
        self._ranked = [(c, n / len(examples)) for c, n in counts.most_common()]

    def predict(self, text: str, k: int) -> list[tuple[str, float]]:
        return self._ranked[:k]


def logistic() -> TextClassifier:
    """Comparison: the same features with logistic regression (real predict_proba) instead of the SVM."""
    from sklearn.linear_model import LogisticRegression

    return TfidfSvmClassifier(estimator=lambda: LogisticRegression(C=20, max_iter=1000))


def phrasings() -> dict[str, str]:
    """text -> the hand-written phrasing it was built from (the corpus's `phrasing` field)."""
    out = {}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[row["text"]] = row.get("phrasing", "")
    return out


def accuracy(model: TextClassifier, test: Sequence[Example]) -> tuple[float, float]:
    hits1 = hits3 = 0
    for e in test:
        top = [c for c, _ in model.predict(e.text, 3)]
        hits1 += bool(top) and top[0] == e.code
        hits3 += e.code in top
    return hits1 / len(test), hits3 / len(test)


def grouped_cv(
    make: Callable[[], TextClassifier],
    examples: list[Example],
    extra: list[Example],
    source: dict[str, str],
    folds: int = 5,
) -> tuple[float, float]:
    """Top-1 and top-3 over the whole corpus, each text predicted by a model trained without its phrasing."""
    groups = sorted({source[e.text] for e in examples})
    random.Random(0).shuffle(groups)
    fold_of = {g: i % folds for i, g in enumerate(groups)}
    hits1 = hits3 = 0.0
    for k in range(folds):
        held = [e for e in examples if fold_of[source[e.text]] == k]
        model = make()
        model.fit([e for e in examples if fold_of[source[e.text]] != k] + extra)
        top1, top3 = accuracy(model, held)
        hits1 += top1 * len(held)
        hits3 += top3 * len(held)
    return hits1 / len(examples), hits3 / len(examples)


def one_run(
    make: Callable[[], TextClassifier],
    train: list[Example],
    test: list[Example],
    unseen: list[Example],
    timing: bool,
) -> dict[str, float]:
    model = make()
    started = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - started
    top1, top3 = accuracy(model, test)
    u1, u3 = accuracy(model, unseen)
    result = {"fit_s": fit_s, "top1": top1, "top3": top3, "unseen_top1": u1, "unseen_top3": u3}
    if timing:
        for e in test[:20]:  # warm up
            model.predict(e.text, 3)
        latencies = []
        started = time.perf_counter()
        for _ in range(3):
            for e in test:
                t0 = time.perf_counter()
                model.predict(e.text, 3)
                latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
        result |= {
            "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "per_s": len(latencies) / elapsed,
            "rss_mib": proc_memory_mb()[0],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()

    rss_start = proc_memory_mb()[0]
    categories = builtin_categories()
    examples = load_builtin_examples()
    own = catalogue_examples(categories)
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    source = phrasings()
    seen = {source[e.text] for e in train}
    unseen = [e for e in test if source[e.text] not in seen]
    print(
        f"corpus: {len(examples)} texts, {len(categories)} categories; train {len(train)} "
        f"(+{len(own)} catalogue words), held out {len(test)}, of which {len(unseen)} with a phrasing "
        "no training text has"
    )
    models: dict[str, tuple[Callable[[], TextClassifier], list[Example], bool]] = {
        "shipped: TF-IDF chars+words, linear SVM": (TfidfSvmClassifier, train + own, True),
        "same features, logistic regression": (logistic, train + own, False),
        "baseline: catalogue keywords": (lambda: KeywordClassifier(categories), train, True),
        "baseline: majority class": (MajorityClassifier, train, False),
    }
    cross_validated = {  # model -> the catalogue words it trains on besides the corpus
        "shipped: TF-IDF chars+words, linear SVM": own,
        "baseline: catalogue keywords": [],
        "baseline: majority class": [],
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in models}
    for run in range(args.runs):
        for name, (make, data, timing) in models.items():
            progress(f"run {run + 1}/{args.runs}: {name}")
            result = one_run(make, data, test, unseen, timing)
            if name in cross_validated:
                result["cv_top1"], result["cv_top3"] = grouped_cv(
                    make, examples, cross_validated[name], source
                )
            results[name].append(result)
    progress("done", done=True)

    def col(name: str, key: str, scale: float = 1.0, digits: int = 1) -> str:
        values = [r[key] * scale for r in results[name] if key in r]
        return med_range(values, digits) if values else "-"

    rows = [
        [
            name,
            col(name, "top1", 100),
            col(name, "top3", 100),
            col(name, "unseen_top1", 100),
            col(name, "unseen_top3", 100),
            col(name, "cv_top1", 100),
            col(name, "cv_top3", 100),
            col(name, "fit_s", 1, 2),
        ]
        for name in models
    ]
    print()
    print(
        table(
            [
                "model",
                "top-1 %",
                "top-3 %",
                "unseen phrasing top-1 %",
                "unseen top-3 %",
                "whole phrasings held out top-1 %",
                "… top-3 %",
                "train s",
            ],
            rows,
        )
    )
    timed = [name for name, (_, _, timing) in models.items() if timing]
    rows = [
        [
            name,
            col(name, "p50_ms", 1, 2),
            col(name, "p95_ms", 1, 2),
            col(name, "p99_ms", 1, 2),
            col(name, "per_s", 1, 0),
        ]
        for name in timed
    ]
    print()
    print(table(["model", "p50 ms", "p95 ms", "p99 ms", "texts/s (1 thread)"], rows))
    print(
        f"\nRSS: {rss_start:.0f} MiB at start, {proc_memory_mb()[0]:.0f} MiB after (peak "
        f"{proc_memory_mb()[1]:.0f} MiB); jieba and scikit-learn loaded"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
