"""How well complaints are classified and routed, on the evaluation set (never trained on).

    .venv/bin/python bench/classifier.py [--model shipped|retrain] [--write]

Routes every complaint of `complaints/corpus/eval.jsonl` as it would be filed (with the
category the complainant picked, or none) about a private nursery, under the shipped rules and
the model (`shipped`: complaints/model/classifier.npz; `retrain`: a model trained afresh on
the training corpus, the same as `flask complaints train --ship` writes), and reports:

- the model's own precision and recall per category, and its confusion matrix;
- the lead department: right when routing's lead is the true category's lead after the
  rules' adjustments (`routing.adjusted_lead`: toys in a building complaint → market; 待分类 counts
  as the fallback's lead, the health commission's triage);
- urgent: the routing's flag (urgent category, urgent keyword or the model's urgent model) —
  recall on the complaints labelled urgent, and precision;
- keyword traps (note "trap:…"): how many reached the police as lead, how many were flagged urgent;
- µs per `route` call (median of 5 passes).

`--write` rewrites docs/complaints-classifier.md with these figures (this script, not a test run,
writes it). The figures are also in bench/out/classifier.json.
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from complaints import classifier  # noqa: E402
from complaints.evaluation import measure  # noqa: E402
from complaints.routing import load_rules  # noqa: E402

DOC = ROOT / "docs" / "complaints-classifier.md"
OUT = ROOT / "bench" / "out" / "classifier.json"


def markdown(m, model, source: str, command: str) -> str:
    rep = m["model"]
    codes = list(rep.per_category)
    lines = [
        "# Complaint classifier: figures on the evaluation set",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; do not edit"
        " by hand. The evaluation set (`complaints/corpus/eval.jsonl`) was written apart from the"
        " training corpus and is never trained on; see `complaints/corpus/README.md`.",
        "",
        f"- Model: {source}; trained on {model.info.get('examples')} examples"
        f" (corpus digest `{model.info.get('corpus_digest')}`), {model.info.get('features')}"
        f" features; temperature {model.temperature:.3f}, urgent threshold"
        f" {model.urgent_threshold:.3f}.",
        f"- Evaluation set: {m['examples']} complaints, {m['picked']} with the complainant's"
        f" pick, {m['urgent_total']} urgent, {m['traps']} keyword traps.",
        "",
        "## Goals",
        "",
        "| goal | bar | result |",
        "|---|---:|---:|",
        f"| lead department right | ≥ 90 % | **{m['lead_accuracy']:.1%}** |",
        f"| urgent recall (routing's flag) | ≥ 98 % | **{m['urgent_recall']:.1%}**"
        f" ({m['urgent_total'] - len(m['urgent_missed'])}/{m['urgent_total']}) |",
        f"| benign keyword traps routed to the police | 0 | **{m['traps_to_police']}**"
        f" of {m['traps']} |",
        "",
        f"- Lead right with a pick: {m['lead_accuracy_picked']:.1%}; without:"
        f" {m['lead_accuracy_unpicked']:.1%}.",
        f"- 待分类 (no pick, model unsure → the health commission's triage):"
        f" {m['awaiting']} of {m['examples'] - m['picked']} unpicked.",
        f"- Urgent precision: {m['urgent_precision']:.1%} ({m['urgent_flagged']} flagged);"
        f" traps flagged urgent: {m['traps_urgent']}.",
        f"- Model alone (top category, no pick): accuracy {rep.accuracy:.1%}; its urgent model:"
        f" recall {rep.urgent_recall:.1%}, precision {rep.urgent_precision:.1%}.",
        f"- `route` per complaint: {m['route_us']:.0f} µs (median of 5 passes).",
        "",
        "## Per category (the model's top category)",
        "",
        "| category | precision | recall | support |",
        "|---|---:|---:|---:|",
    ]
    for code, v in rep.per_category.items():
        lines.append(f"| {code} | {v['precision']:.2f} | {v['recall']:.2f} | {v['support']:.0f} |")
    lines += [
        "",
        "## Confusion matrix (rows: true category; columns: the model's)",
        "",
        "| true \\ predicted | " + " | ".join(c[:8] for c in codes) + " |",
        "|---|" + "---:|" * len(codes),
    ]
    for t in codes:
        row = rep.confusion.get(t, {})
        lines.append(f"| {t} | " + " | ".join(str(row.get(p, 0) or "") for p in codes) + " |")
    lines += ["", "## Urgent complaints the routing missed", ""]
    lines += [f"- {t}" for t in m["urgent_missed"]] or ["- none"]
    lines += ["", "## Complaints whose lead department was wrong", ""]
    lines += ["| text | true | picked | routed as |", "|---|---|---|---|"]
    for text, true, picked, used, awaiting in m["wrong_lead"]:
        lines.append(
            f"| {text[:60]} | {true} | {picked or '—'} | {'待分类' if awaiting else used} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("shipped", "retrain"), default="shipped")
    p.add_argument("--write", action="store_true", help="rewrite docs/complaints-classifier.md")
    args = p.parse_args(argv)
    rules = load_rules()
    if args.model == "shipped":
        model, source = classifier.shipped_model(), "the shipped file"
    else:
        corpus = classifier.training_corpus(set(rules.categories))
        model, _ = classifier.train(corpus, list(rules.categories))
        source = "trained afresh on the corpus"
    examples = classifier.evaluation_set(set(rules.categories))
    m = measure(model, rules, examples)
    command = "python bench/classifier.py" + (" --model retrain" if args.model != "shipped" else "")
    command += " --write"
    print(f"lead department right   {m['lead_accuracy']:.1%}  (goal ≥ 90 %)")
    print(f"urgent recall           {m['urgent_recall']:.1%}  (goal ≥ 98 %)")
    print(f"urgent precision        {m['urgent_precision']:.1%}")
    print(f"traps to the police     {m['traps_to_police']} of {m['traps']}  (goal 0)")
    print(f"model accuracy          {m['model'].accuracy:.1%}")
    print(f"待分类                   {m['awaiting']}")
    print(f"route                   {m['route_us']:.0f} µs per complaint")
    OUT.parent.mkdir(exist_ok=True)
    summary = {k: v for k, v in m.items() if k != "model"}
    summary["model"] = m["model"].as_dict()
    OUT.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    if args.write:
        DOC.write_text(markdown(m, model, source, command), encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return m


if __name__ == "__main__":
    main()
