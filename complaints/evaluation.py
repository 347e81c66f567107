"""How routing does on labelled complaints (the evaluation set): the figures the issue's goals
name — lead department, urgent recall, keyword traps — computed one way for the tests that hold
the goals and for `bench/classifier.py`, which writes them to docs/complaints-classifier.md.
Plain rules: no Flask, no database."""

from __future__ import annotations

import statistics
import time

from .classifier import Example, Model, evaluate
from .routing import Rules, adjusted_lead, route

KIND = "private"  # the kind adjusts co-handlers only (and fees at public nurseries)


def measure(model: Model, rules: Rules, examples: list[Example], timing: bool = True) -> dict:
    """Route every example as filed (its pick, or none) about a private nursery."""
    report = evaluate(model, examples)
    rows = []
    for e in examples:
        r = route(e.picked, KIND, False, False, e.text, rules, model)
        rows.append((e, r))
    # the right lead is the true category's after the rules' adjustments (toys → market …)
    expected = [adjusted_lead(e.category, KIND, False, False, e.text, rules) for e, _ in rows]
    lead_right = [r.lead == lead for (_, r), lead in zip(rows, expected, strict=True)]
    urgent = [e for e, r in rows if e.urgent]
    flagged = [e for e, r in rows if r.urgent]
    traps = [(e, r) for e, r in rows if (e.note or "").startswith("trap:")]
    police = [e for e, r in traps if r.lead == "police"]
    picked = [(e, r) for e, r in rows if e.picked]
    timings = []
    for _ in range(5 if timing else 0):
        start = time.perf_counter()
        for e in examples:
            route(e.picked, KIND, False, False, e.text, rules, model)
        timings.append((time.perf_counter() - start) / len(examples) * 1e6)
    return {
        "examples": len(examples),
        "model": report,
        "lead_accuracy": sum(lead_right) / len(rows),
        "lead_accuracy_picked": sum(
            ok for (e, _), ok in zip(rows, lead_right, strict=True) if e.picked
        )
        / max(1, len(picked)),
        "lead_accuracy_unpicked": sum(
            ok for (e, _), ok in zip(rows, lead_right, strict=True) if not e.picked
        )
        / max(1, len(rows) - len(picked)),
        "picked": len(picked),
        "awaiting": sum(r.awaiting_category for _, r in rows),
        "urgent_total": len(urgent),
        "urgent_recall": sum(r.urgent for e, r in rows if e.urgent) / max(1, len(urgent)),
        "urgent_precision": sum(e.urgent for e in flagged) / max(1, len(flagged)),
        "urgent_flagged": len(flagged),
        "urgent_missed": [e.text for e, r in rows if e.urgent and not r.urgent],
        "traps": len(traps),
        "traps_to_police": len(police),
        "traps_to_police_texts": [e.text for e in police],
        "traps_urgent": sum(r.urgent for _, r in traps),
        "wrong_lead": [
            (e.text, e.category, e.picked, r.category_used, r.awaiting_category)
            for (e, r), ok in zip(rows, lead_right, strict=True)
            if not ok
        ],
        "route_us": statistics.median(timings) if timings else None,
    }
