"""Policy endpoints of the JSON API: the search and "what applies to me" (public, read-only)."""

from datetime import date

from flask import current_app, jsonify

from api import bp, invalid

from . import queries
from .document import CATEGORIES, region_label
from .params import for_me_args, search_args


def _policy(p) -> dict:
    d = p.data().as_dict()
    d.pop("hidden")
    return {
        "id": p.id,
        **d,
        "category_label": CATEGORIES[p.category],
        "region_label": region_label(p.region),
        "updated_at": p.updated_at.isoformat(timespec="seconds"),
    }


@bp.get("/policies")
def list_policies():
    q, category = search_args()
    found = queries.search(q, category)
    return jsonify({"count": len(found), "results": [_policy(p) for p in found]})


@bp.get("/policies/for-me")
def policies_for_me():
    home = current_app.config["POLICY_DISTRICT"]
    args = for_me_args()
    if args is None:
        raise invalid("birth_date", "请填写孩子的出生日期（birth_date）或月龄（age_months）")
    outcome = queries.for_me(
        birth=args["birth"],
        months=args["months"],
        district=args["district"] or home,
        home=home,
        children=args["children"],
        nursery_id=args["nursery_id"],
        on=date.today(),
    )
    return jsonify(
        {
            "age_months": outcome.months,
            "class_types": outcome.classes,
            "class_note": outcome.class_note,
            "price_regime": outcome.regime,
            "price_regime_label": outcome.regime_label,
            "offers": [o.__dict__ for o in outcome.offers],
            "notes": outcome.notes,
            "results": [
                {
                    "code": b.policy.code,
                    "title": b.policy.title,
                    "category": b.policy.category,
                    "region": b.policy.region,
                    "source_title": b.policy.source_title,
                    "source_date": b.policy.source_date.isoformat()
                    if b.policy.source_date
                    else None,
                    "amounts": [a.as_dict() for a in b.amounts],
                    "notes": b.notes,
                }
                for b in outcome.applies
            ],
            "not_applicable": [
                {"code": p.code, "title": p.title, "reason": reason}
                for p, reason in outcome.not_applicable
            ],
        }
    )
