"""The text classifier's use cases: train a new version from the corpus and the handlers'
corrections, roll back to an earlier one, and record a correction.

A correction (`CategoryCorrection`) names a case, not its text: training reads the case's
description as it is then (contact details and long numbers masked), so a corrected label lives
only as long as the case it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

import audit
from database import use_case
from errors import DomainError
from extensions import db

from .. import classifier, modelbook, rulebook
from ..models import CategoryCorrection, ClassifierVersion, Complaint

# A phone, ID or account number in a complaint's text is identity, not evidence of a category.
_NUMBERS = re.compile(r"\d[\d\s-]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def mask(text: str) -> str:
    return _EMAIL.sub("邮箱", _NUMBERS.sub("号码", text))


@dataclass(frozen=True)
class Trained:
    version: int | None  # None when only shipped to the file
    model: classifier.Model
    report: classifier.Report
    corpus_examples: int
    corrections: int


def correction_examples(categories: dict) -> list[classifier.Example]:
    """The newest correction of every case still on file, as training examples (a category the
    rules no longer have is skipped). Urgent: the category's flag or the case's — a handler
    who left a case urgent did not call it harmless, and missing an urgent case costs more."""
    rows = db.session.execute(
        select(
            CategoryCorrection.complaint_id,
            CategoryCorrection.category,
            Complaint.description,
            Complaint.urgent,
        )
        .join(Complaint, Complaint.id == CategoryCorrection.complaint_id)
        .order_by(CategoryCorrection.id)
    ).all()
    newest = {cid: (cat, text, urgent) for cid, cat, text, urgent in rows}  # later rows win
    return [
        classifier.Example(
            text=mask(text),
            category=cat,
            urgent=categories[cat].urgent or bool(urgent),
            source=f"correction:{cid}",
        )
        for cid, (cat, text, urgent) in newest.items()
        if cat in categories and text
    ]


def train(
    admin_id: int | None = None,
    note: str = "",
    now: datetime | None = None,
    with_corrections: bool = True,
    save: bool = True,
    rules=None,
) -> Trained:
    """Train on the corpus (plus the corrections) for the categories of `rules` (default: the
    rules in force); saved as the newest version unless `save` is false (the CLI's --ship
    trains for the shipped rules and writes the file)."""
    rules = rules or rulebook.current_rules()
    classes = list(rules.categories)
    corpus = classifier.training_corpus(set(classes))
    corrections = correction_examples(rules.categories) if with_corrections else []
    now = (now or datetime.now()).replace(microsecond=0)
    info = {"trained_at": now.isoformat(), "corrections": len(corrections), "note": note or None}
    try:
        model, report = classifier.train(corpus + corrections, classes, info)
    except ValueError as exc:
        raise DomainError("training_failed", f"无法训练：{exc}") from None
    version = None
    if save:
        with use_case():
            row = ClassifierVersion(
                saved_at=now,
                saved_by=admin_id,
                note=(note or None) and note[:200],
                info=json.dumps(model.info, ensure_ascii=False),
                data=model.to_bytes(),
            )
            db.session.add(row)
            db.session.flush()
            version = row.id
            modelbook.forget_request_copy()
            audit.record(
                admin_id,
                "complaint_classifier_trained",
                "classifier",
                version,
                note or None,
                at=now,
            )
    return Trained(version, model, report, len(corpus), len(corrections))


def restore_version(version: int, admin_id: int | None = None, now: datetime | None = None) -> int:
    """Make an earlier version the one in force again, as a new version (history stays whole);
    version 0 is the shipped file. Returns the new version's id."""
    now = (now or datetime.now()).replace(microsecond=0)
    with use_case():
        if version == 0:
            data = classifier.SHIPPED_MODEL_PATH.read_bytes()
            info = json.dumps(classifier.shipped_model().info, ensure_ascii=False)
        else:
            old = db.session.get(ClassifierVersion, version) if 0 < version < 2**31 else None
            if old is None:
                raise DomainError("unknown_version", f"没有版本 {version} 的分类模型")
            data, info = old.data, old.info
        row = ClassifierVersion(
            saved_at=now,
            saved_by=admin_id,
            based_on=version,
            note=f"回退到版本 {version}",
            info=info,
            data=data,
        )
        db.session.add(row)
        db.session.flush()
        modelbook.forget_request_copy()
        audit.record(
            admin_id,
            "complaint_classifier_rolled_back",
            "classifier",
            row.id,
            f"→ {version}",
            at=now,
        )
    return row.id


def versions(limit: int = 20) -> list:
    """The newest versions (without their arrays), newest first."""
    return db.session.execute(
        select(
            ClassifierVersion.id,
            ClassifierVersion.saved_at,
            ClassifierVersion.based_on,
            ClassifierVersion.note,
            ClassifierVersion.info,
        )
        .order_by(ClassifierVersion.id.desc())
        .limit(limit)
    ).all()


def record_correction(c: Complaint, category: str, previous: str, source: str, by, now) -> None:
    """Inside the handler's use case: a label to train on."""
    db.session.add(
        CategoryCorrection(
            complaint_id=c.id,
            category=category,
            previous=previous,
            source=source,
            corrected_at=now,
            corrected_by=by,
        )
    )
