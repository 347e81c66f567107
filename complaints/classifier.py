"""The complaint text classifier: which category a complaint's text describes, and whether it
is urgent. Plain rules (no Flask, no database); the model in force is chosen by
`complaints/modelbook.py`.

- Features: the text's words as `jieba` segments them, plus its character 1–3-grams (people
  write with typos, dialect and no punctuation; characters still carry the meaning when a word
  is misspelt). Weighted by TF-IDF (sublinear term frequency, L2-normalised).
- Category: a multinomial logistic regression (scikit-learn), its probabilities calibrated by
  temperature scaling on a held-out split.
- Urgent: a second, binary logistic regression whose threshold is set for recall: on held-out
  predictions, the highest threshold that still finds URGENT_RECALL_TARGET of urgent examples.
- The fitted numbers are exported to plain arrays (`Model.to_bytes`, an `.npz` read with
  `allow_pickle=False`), never pickled: a model file from the database cannot run code, and it
  reads the same whatever scikit-learn version is installed.

The labelled corpus lives in `complaints/corpus/` (see its README); `train` fits a model on
examples, `evaluate` measures one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

CORPUS_DIR = Path(__file__).with_name("corpus")
SHIPPED_MODEL_PATH = Path(__file__).with_name("model") / "classifier.npz"
FORMAT = 1
CHAR_NGRAMS = (1, 2, 3)
MIN_DF = 2  # a feature seen in one example only is noise, not evidence
C = 20.0  # inverse regularisation, chosen on the held-out split (see docs/complaints-classifier.md)
URGENT_RECALL_TARGET = 0.99
HELD_OUT_SHARE = 0.2
SEED = 20261202
_WORDLIKE = re.compile(r"[\w]", re.UNICODE)
_NOT_WORDLIKE = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """NFKC (full-width letters and digits become ASCII), lower case, no whitespace."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(text.split())


@lru_cache(maxsize=1)
def _tokenizer():
    """jieba's segmenter, loaded once (about a second) and kept apart from jieba's global
    dictionary, so nothing else in the process changes how we segment."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def words(text: str) -> list[str]:
    """The words of normalised text, punctuation dropped."""
    return [w for w in _tokenizer().lcut(text, HMM=True) if _WORDLIKE.search(w)]


def word_bounds(text: str) -> set[int]:
    """The offsets in normalised `text` where a word (as jieba segments it) starts or ends: a
    keyword counts only where it starts and ends on a word boundary ("被打" is not in
    "被打扰")."""
    bounds = {0}
    at = 0
    for token in _tokenizer().lcut(text, HMM=True):
        at += len(token)
        bounds.add(at)
    return bounds


def features(text: str) -> list[str]:
    """The features of one text: words ("w:…") and character n-grams ("c:…")."""
    norm = normalise(text)
    feats = ["w:" + w for w in words(norm)]
    chars = _NOT_WORDLIKE.sub("", norm)
    for n in CHAR_NGRAMS:
        feats.extend("c:" + chars[i : i + n] for i in range(len(chars) - n + 1))
    return feats


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    urgent: bool
    picked: str | None = None
    note: str | None = None
    source: str = "corpus"


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]  # category → calibrated probability, summing to 1
    urgent_probability: float
    urgent: bool  # urgent_probability ≥ the model's threshold

    @property
    def category(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.category]


@dataclass
class Model:
    classes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,)
    temperature: float
    urgent_coef: np.ndarray  # (n_features,)
    urgent_intercept: float
    urgent_threshold: float
    info: dict = field(default_factory=dict)  # trained_at, corpus digest, counts, held-out metrics

    # --- prediction ---------------------------------------------------------------------

    def vector(self, text: str) -> np.ndarray:
        """The text's TF-IDF vector, as scikit-learn's TfidfVectorizer(sublinear_tf=True)
        computes it for the fitted vocabulary."""
        counts = Counter(i for f in features(text) if (i := self.vocabulary.get(f)) is not None)
        x = np.zeros(len(self.vocabulary))
        if counts:
            idx = np.fromiter(counts, dtype=np.int64)
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float))
            x[idx] = tf * self.idf[idx]
            x /= np.linalg.norm(x)
        return x

    def predict(self, text: str) -> Prediction:
        x = self.vector(text)
        logits = (self.coef @ x + self.intercept) / self.temperature
        p = np.exp(logits - logits.max())
        p /= p.sum()
        z = float(self.urgent_coef @ x + self.urgent_intercept)
        urgent_p = 1.0 / (1.0 + np.exp(-z))
        return Prediction(
            probabilities={c: float(v) for c, v in zip(self.classes, p, strict=True)},
            urgent_probability=urgent_p,
            urgent=urgent_p >= self.urgent_threshold,
        )

    # --- storage ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        terms = sorted(self.vocabulary, key=self.vocabulary.get)
        meta = {
            "format": FORMAT,
            "classes": self.classes,
            "temperature": self.temperature,
            "urgent_intercept": self.urgent_intercept,
            "urgent_threshold": self.urgent_threshold,
            "info": self.info,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
            terms=np.array(terms),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            urgent_coef=self.urgent_coef.astype(np.float32),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """Read a model written by `to_bytes`; ValueError if it is not one."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                terms = [str(t) for t in z["terms"]]
                arrays = {k: z[k].astype(float) for k in ("idf", "coef", "intercept")}
                urgent_coef = z["urgent_coef"].astype(float)
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise ValueError(f"not a classifier model file ({exc})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"classifier model format {meta.get('format')!r} is not {FORMAT}")
        n, k = len(terms), len(meta["classes"])
        if (
            arrays["coef"].shape != (k, n)
            or arrays["idf"].shape != (n,)
            or urgent_coef.shape != (n,)
        ):
            raise ValueError("classifier model arrays do not match its vocabulary")
        return cls(
            classes=list(meta["classes"]),
            vocabulary={t: i for i, t in enumerate(terms)},
            idf=arrays["idf"],
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            temperature=float(meta["temperature"]),
            urgent_coef=urgent_coef,
            urgent_intercept=float(meta["urgent_intercept"]),
            urgent_threshold=float(meta["urgent_threshold"]),
            info=meta.get("info", {}),
        )


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The model trained on the corpus in the repository (`flask complaints train --ship`)."""
    return Model.from_bytes(SHIPPED_MODEL_PATH.read_bytes())


# --- the corpus -------------------------------------------------------------------------------


def _read_jsonl(path: Path, categories: set[str] | None) -> list[Example]:
    examples = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(
                text=row["text"],
                category=row["category"],
                urgent=bool(row["urgent"]),
                picked=row.get("picked"),
                note=row.get("note"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name} line {n}: {exc}") from None
        if categories is not None and example.category not in categories:
            raise ValueError(f"{path.name} line {n}: unknown category {example.category!r}")
        examples.append(example)
    return examples


def training_corpus(categories: set[str] | None = None) -> list[Example]:
    """Every example under corpus/train/, in file order."""
    examples = []
    for path in sorted((CORPUS_DIR / "train").glob("*.jsonl")):
        examples.extend(_read_jsonl(path, categories))
    return examples


def evaluation_set(categories: set[str] | None = None) -> list[Example]:
    """The evaluation set, written apart from the training corpus and never trained on."""
    return _read_jsonl(CORPUS_DIR / "eval.jsonl", categories)


def digest(examples: list[Example]) -> str:
    """A fingerprint of what a model was trained on."""
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.category}\t{int(e.urgent)}\t{e.text}\n".encode())
    return h.hexdigest()[:16]


# --- training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """How a model did on examples it was not trained on."""

    per_category: dict[str, dict[str, float]]  # code → precision, recall, support
    accuracy: float
    urgent_recall: float
    urgent_precision: float
    confusion: dict[str, dict[str, int]]  # true → predicted → count
    examples: int

    def as_dict(self) -> dict:
        return {
            "per_category": self.per_category,
            "accuracy": self.accuracy,
            "urgent_recall": self.urgent_recall,
            "urgent_precision": self.urgent_precision,
            "examples": self.examples,
        }


def _fit(texts, labels, urgent, classes):
    """(vectoriser, category model, urgent model) fitted on the texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=MIN_DF)
    x = vectoriser.fit_transform(texts)
    category = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    category.fit(x, labels)
    # the classes' order is the model's: keep the rules' order for reading, sklearn's to fit
    urgent_model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    urgent_model.fit(x, np.asarray(urgent, dtype=int))
    return vectoriser, category, urgent_model


def _temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that minimises the held-out negative log-likelihood (a grid search:
    one number, no optimiser needed)."""
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), 81)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -log_p[np.arange(len(truth)), truth].mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def _threshold(probabilities: np.ndarray, urgent: np.ndarray) -> float:
    """The highest threshold at which URGENT_RECALL_TARGET of the urgent examples are found
    (never above one half: a model unsure whether a child is in danger says urgent)."""
    scores = np.sort(probabilities[urgent.astype(bool)])
    if not len(scores):
        return 0.5
    missed = int(np.floor((1 - URGENT_RECALL_TARGET) * len(scores)))
    return float(min(0.5, scores[missed] - 1e-6))


def _split(examples: list[Example]) -> tuple[list[int], list[int]]:
    """A stratified held-out split (by category and urgency), the same for the same data."""
    from sklearn.model_selection import train_test_split

    idx = list(range(len(examples)))
    strata = [f"{e.category}:{int(e.urgent)}" for e in examples]
    counts = Counter(strata)
    strata = [s if counts[s] >= 2 else s.split(":")[0] for s in strata]
    return train_test_split(idx, test_size=HELD_OUT_SHARE, random_state=SEED, stratify=strata)


def _export(vectoriser, category, urgent_model, temperature, threshold, classes, info) -> Model:
    order = [list(category.classes_).index(c) for c in classes]
    vocabulary = {t: int(i) for t, i in vectoriser.vocabulary_.items()}
    return Model(
        classes=list(classes),
        vocabulary=vocabulary,
        idf=np.asarray(vectoriser.idf_, dtype=float),
        coef=np.asarray(category.coef_, dtype=float)[order],
        intercept=np.asarray(category.intercept_, dtype=float)[order],
        temperature=temperature,
        urgent_coef=np.asarray(urgent_model.coef_[0], dtype=float),
        urgent_intercept=float(urgent_model.intercept_[0]),
        urgent_threshold=threshold,
        info=info,
    )


def train(examples: list[Example], classes: list[str], info: dict | None = None):
    """Fit a model on examples; returns (model, report on the held-out split).

    The held-out split (HELD_OUT_SHARE, stratified) sets the temperature and the urgent
    threshold and gives the report; the model returned is then refitted on every example with
    those two numbers. Every category in `classes` needs at least two examples.
    """
    missing = [c for c in classes if sum(e.category == c for e in examples) < 2]
    if missing:
        raise ValueError(f"too few examples (fewer than 2) for categories: {', '.join(missing)}")
    unknown = {e.category for e in examples} - set(classes)
    if unknown:
        raise ValueError(f"examples name unknown categories: {', '.join(sorted(unknown))}")
    if not any(e.urgent for e in examples):
        raise ValueError("no urgent examples to learn urgency from")
    fit_idx, held_idx = _split(examples)
    texts = [e.text for e in examples]
    labels = [e.category for e in examples]
    urgent = np.array([e.urgent for e in examples])

    vec, cat, urg = _fit(
        [texts[i] for i in fit_idx], [labels[i] for i in fit_idx], urgent[fit_idx], classes
    )
    x_held = vec.transform([texts[i] for i in held_idx])
    logits = cat.decision_function(x_held)
    truth = np.array([list(cat.classes_).index(labels[i]) for i in held_idx])
    temperature = _temperature(logits, truth)
    threshold = _threshold(urg.predict_proba(x_held)[:, 1], urgent[held_idx])
    held_model = _export(vec, cat, urg, temperature, threshold, classes, {})
    report = evaluate(held_model, [examples[i] for i in held_idx])

    vec, cat, urg = _fit(texts, labels, urgent, classes)
    info = dict(info or {})
    info.update(
        {
            "examples": len(examples),
            "corpus_digest": digest(examples),
            "held_out": report.as_dict(),
            "features": len(vec.vocabulary_),
        }
    )
    return _export(vec, cat, urg, temperature, threshold, classes, info), report


def evaluate(model: Model, examples: list[Example]) -> Report:
    """Per-category precision and recall, accuracy, urgent recall and precision, confusion."""
    classes = model.classes
    confusion = {t: dict.fromkeys(classes, 0) for t in classes}
    urgent_hits = urgent_true = urgent_flagged = 0
    for e in examples:
        p = model.predict(e.text)
        confusion[e.category][p.category] += 1
        urgent_true += e.urgent
        urgent_flagged += p.urgent
        urgent_hits += e.urgent and p.urgent
    per = {}
    for c in classes:
        tp = confusion[c][c]
        predicted = sum(confusion[t][c] for t in classes)
        support = sum(confusion[c].values())
        per[c] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / support if support else 0.0,
            "support": support,
        }
    total = len(examples)
    correct = sum(confusion[c][c] for c in classes)
    return Report(
        per_category=per,
        accuracy=correct / total if total else 0.0,
        urgent_recall=urgent_hits / urgent_true if urgent_true else 1.0,
        urgent_precision=urgent_hits / urgent_flagged if urgent_flagged else 1.0,
        confusion=confusion,
        examples=total,
    )
