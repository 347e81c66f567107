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
URGENT_PRONE_SHARE = 0.05  # a category where at least this share of examples is urgent
URGENT_CALM_CONFIDENCE = 0.9  # a sure reading of any other category overrules a weak urgent score
URGENT_RECALL_TARGET = 1.0  # every urgent example held out in cross-validation is caught
CV_FOLDS = 5
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


@lru_cache(maxsize=256)
def _segments(text: str) -> tuple[str, ...]:
    """jieba's segmentation of normalised text; cached, because routing asks for a text's
    words (features) and its word boundaries (keywords) one after the other."""
    return tuple(_tokenizer().lcut(text, HMM=True))


def words(text: str) -> list[str]:
    """The words of normalised text, punctuation dropped."""
    return [w for w in _segments(text) if _WORDLIKE.search(w)]


def word_bounds(text: str) -> set[int]:
    """The offsets in normalised `text` where a word (as jieba segments it) starts or ends: a
    keyword counts only where it starts and ends on a word boundary ("被打" is not in
    "被打扰")."""
    bounds = {0}
    at = 0
    for token in _segments(text):
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
    # categories whose examples are often urgent; None: every category (older model files)
    urgent_prone: list[str] | None = None
    info: dict = field(default_factory=dict)  # trained_at, corpus digest, counts, held-out metrics

    # --- prediction ---------------------------------------------------------------------

    def sparse_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's TF-IDF vector as (feature indices, values): the few hundred features a
        complaint has, of tens of thousands (a dense product costs 100× more, and on a busy
        machine BLAS threads make it far worse)."""
        counts = Counter(i for f in features(text) if (i := self.vocabulary.get(f)) is not None)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts, dtype=np.int64)
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float))) * self.idf[idx]
        return idx, values / np.sqrt(values @ values)

    def vector(self, text: str) -> np.ndarray:
        """The text's TF-IDF vector, as scikit-learn's TfidfVectorizer(sublinear_tf=True)
        computes it for the fitted vocabulary."""
        idx, values = self.sparse_vector(text)
        x = np.zeros(len(self.vocabulary))
        x[idx] = values
        return x

    def predict(self, text: str) -> Prediction:
        idx, values = self.sparse_vector(text)
        logits = (self.coef[:, idx] @ values + self.intercept) / self.temperature
        p = np.exp(logits - logits.max())
        p /= p.sum()
        z = float(self.urgent_coef[idx] @ values + self.urgent_intercept)
        urgent_p = 1.0 / (1.0 + np.exp(-z))
        return Prediction(
            probabilities={c: float(v) for c, v in zip(self.classes, p, strict=True)},
            urgent_probability=urgent_p,
            urgent=self._urgent(urgent_p, p),
        )

    def _urgent(self, urgent_p: float, p: np.ndarray) -> bool:
        return _urgent(urgent_p, p, self.classes, self.urgent_threshold, self.urgent_prone)

    # --- storage ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        terms = sorted(self.vocabulary, key=self.vocabulary.get)
        meta = {
            "format": FORMAT,
            "classes": self.classes,
            "temperature": self.temperature,
            "urgent_intercept": self.urgent_intercept,
            "urgent_threshold": self.urgent_threshold,
            "urgent_prone": self.urgent_prone,
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
            urgent_prone=meta.get("urgent_prone"),
            info=meta.get("info", {}),
        )


def _urgent(urgent_p, p, classes, threshold, prone) -> bool:
    """Urgent when the urgent model's score reaches the threshold, unless the text surely
    belongs to a category that holds no urgent cases ("老师对孩子态度冷淡" is care quality; a
    weak urgent score there is the words, not danger)."""
    if urgent_p < threshold:
        return False
    if prone is None:
        return True
    best = int(np.argmax(p))
    return classes[best] in prone or p[best] < URGENT_CALM_CONFIDENCE


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


def _fit(texts, labels, urgent, analyzer=features):
    """(vectoriser, category model, urgent model) fitted on the texts. `analyzer` gives a
    text's features (`features`, or a cache of it while training)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=MIN_DF)
    x = vectoriser.fit_transform(texts)
    category = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    category.fit(x, labels)
    # sklearn orders the classes its own way; _export puts them in the rules' order
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


def _folds(examples: list[Example]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified cross-validation folds (by category, and urgency where there are enough), the
    same for the same data: every example is held out once."""
    from sklearn.model_selection import StratifiedKFold

    strata = [f"{e.category}:{int(e.urgent)}" for e in examples]
    counts = Counter(strata)
    strata = [s if counts[s] >= CV_FOLDS else s.split(":")[0] for s in strata]
    n_splits = max(2, min(CV_FOLDS, min(Counter(strata).values())))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=SEED)
    return list(folds.split(np.zeros(len(examples)), strata))


def _export(
    vectoriser, category, urgent_model, temperature, threshold, classes, info, prone
) -> Model:
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
        urgent_prone=prone,
        info=info,
    )


def train(examples: list[Example], classes: list[str], info: dict | None = None):
    """Fit a model on examples; returns (model, report on held-out examples).

    Cross-validation (CV_FOLDS stratified folds) predicts every example with a model that did
    not see it: those predictions set the temperature and the urgent threshold (over all the
    urgent examples, not a fifth of them) and give the report. The model returned is then
    fitted on every example with those two numbers. Every category in `classes` needs at least
    two examples.
    """
    missing = [c for c in classes if sum(e.category == c for e in examples) < 2]
    if missing:
        raise ValueError(f"too few examples (fewer than 2) for categories: {', '.join(missing)}")
    unknown = {e.category for e in examples} - set(classes)
    if unknown:
        raise ValueError(f"examples name unknown categories: {', '.join(sorted(unknown))}")
    if not any(e.urgent for e in examples):
        raise ValueError("no urgent examples to learn urgency from")
    texts = [e.text for e in examples]
    labels = np.array([e.category for e in examples])
    urgent = np.array([e.urgent for e in examples])
    cached = {t: features(t) for t in set(texts)}  # segment each text once, not once a fold

    logits = np.zeros((len(examples), len(classes)))
    urgent_p = np.zeros(len(examples))
    for fit_idx, held_idx in _folds(examples):
        vec, cat, urg = _fit(
            [texts[i] for i in fit_idx], labels[fit_idx], urgent[fit_idx], cached.__getitem__
        )
        x = vec.transform([texts[i] for i in held_idx])
        known = list(cat.classes_)
        fold_logits = np.full((len(held_idx), len(classes)), -np.inf)
        for j, c in enumerate(classes):
            if c in known:  # a category with too few examples may miss from a fold's fit
                fold_logits[:, j] = cat.decision_function(x)[:, known.index(c)]
        logits[held_idx] = fold_logits
        urgent_p[held_idx] = urg.predict_proba(x)[:, 1]
    logits[np.isinf(logits)] = np.nanmin(logits[~np.isinf(logits)]) - 50
    truth = np.array([classes.index(c) for c in labels])
    temperature = _temperature(logits, truth)
    threshold = _threshold(urgent_p, urgent)
    prone = [c for c in classes if urgent[labels == c].mean() >= URGENT_PRONE_SHARE]
    predictions = _predictions(logits / temperature, urgent_p, classes, threshold, prone)
    report = _report(examples, classes, predictions)

    vec, cat, urg = _fit(texts, labels, urgent, cached.__getitem__)
    info = dict(info or {})
    info.update(
        {
            "examples": len(examples),
            "corpus_digest": digest(examples),
            "held_out": report.as_dict(),
            "features": len(vec.vocabulary_),
        }
    )
    return _export(vec, cat, urg, temperature, threshold, classes, info, prone), report


def _predictions(logits, urgent_p, classes, threshold, prone) -> list[Prediction]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return [
        Prediction(
            dict(zip(classes, map(float, row), strict=True)),
            float(u),
            _urgent(u, row, classes, threshold, prone),
        )
        for row, u in zip(p, urgent_p, strict=True)
    ]


def evaluate(model: Model, examples: list[Example]) -> Report:
    """Per-category precision and recall, accuracy, urgent recall and precision, confusion."""
    return _report(examples, model.classes, [model.predict(e.text) for e in examples])


def _report(examples: list[Example], classes: list[str], predictions: list[Prediction]) -> Report:
    confusion = {t: dict.fromkeys(classes, 0) for t in classes}
    urgent_hits = urgent_true = urgent_flagged = 0
    for e, p in zip(examples, predictions, strict=True):
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
