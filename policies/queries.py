"""Reading policies: the public search, the admin's list, the known districts, and the facts
the "what applies to me" helper needs (the nursery, its offers' price rules, the subsidies)."""

from datetime import date

from sqlalchemy import or_, select

from booking.queries import subsidy_rows
from errors import DomainError, NotFound
from extensions import db
from maps.models import Nursery, price_rules
from maps.queries import offer_price_rule, public_nursery

from . import eligibility
from .document import NATIONAL, PolicyData, region_label, region_parts
from .models import Policy

MAX_QUERY = 50


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(q: str = "", category: str | None = None, include_hidden: bool = False) -> list[Policy]:
    """Policies whose title, summary, text or source holds every word of `q`, by category."""
    stmt = select(Policy)
    if not include_hidden:
        stmt = stmt.where(Policy.hidden.is_(False))
    if category:
        stmt = stmt.where(Policy.category == category)
    for word in q.split():
        pattern = _like(word)
        stmt = stmt.where(
            or_(
                Policy.title.ilike(pattern, escape="\\"),
                Policy.summary.ilike(pattern, escape="\\"),
                Policy.body.ilike(pattern, escape="\\"),
                Policy.source_title.ilike(pattern, escape="\\"),
                Policy.region.ilike(pattern, escape="\\"),
            )
        )
    rows = db.session.scalars(stmt).all()
    return sorted(rows, key=_order)


def _order(p: Policy):
    # national first, then by region, then newest source first
    return (p.region != NATIONAL, p.region, -(p.source_date or date.min).toordinal(), p.code)


def get(policy_id: int) -> Policy:
    policy = db.session.get(Policy, policy_id)
    if policy is None:
        raise NotFound("policy_not_found", "未找到该政策")
    return policy


def public_get(policy_id: int) -> Policy:
    policy = get(policy_id)
    if policy.hidden:
        raise NotFound("policy_not_found", "未找到该政策")
    return policy


def all_data() -> list[PolicyData]:
    """Every policy, hidden ones included, as the export writes them."""
    return [p.data() for p in db.session.scalars(select(Policy))]


def visible_data() -> list[PolicyData]:
    return [p.data() for p in db.session.scalars(select(Policy).where(Policy.hidden.is_(False)))]


def districts(home: str) -> list[tuple[str, str]]:
    """The districts a family can choose: this service's own, then every district the visible
    policies name (a region no other region lies inside), as (region path, label)."""
    regions = set(db.session.scalars(select(Policy.region).where(Policy.hidden.is_(False))))
    regions.discard(NATIONAL)
    leaves = {
        r
        for r in regions
        if not any(
            o != r and region_parts(o)[: len(region_parts(r))] == region_parts(r) for o in regions
        )
    }
    leaves.discard(home)
    found = [(home, region_label(home) + "（本平台所在区）")]
    found += sorted(((r, " · ".join(region_parts(r))) for r in leaves), key=lambda x: x[0])
    return found


def nursery_choices() -> list[tuple[int, str]]:
    """The public (filed) nurseries a family can pick, by name, marked when inclusive."""
    rows = db.session.execute(
        select(Nursery.id, Nursery.name, Nursery.inclusive)
        .where(Nursery.filing_no.is_not(None))
        .order_by(Nursery.name, Nursery.id)
    ).all()
    return [(i, f"{name}（普惠）" if inclusive else name) for i, name, inclusive in rows]


def nursery_facts(nursery_id: int) -> eligibility.NurseryFacts:
    """A public nursery's kind, classes and offers with the price rule each keeps."""
    try:
        n = public_nursery(nursery_id)
    except NotFound:
        raise DomainError(
            "unknown_nursery", "所选托育机构不存在或尚未备案，请从列表中选择", 400, "nursery_id"
        ) from None
    rules = price_rules()
    offers = []
    for o in sorted(n.offers, key=lambda o: (o.care_type, o.class_type or "")):
        rule = offer_price_rule(rules, n.kind, n.inclusive, o)
        offers.append(
            eligibility.OfferFacts(
                o.care_type,
                o.class_type,
                o.price_yuan,
                o.price_unit,
                rule["text"] if rule else None,
            )
        )
    return eligibility.NurseryFacts(
        n.id,
        n.name,
        n.kind,
        n.inclusive,
        tuple(c.class_type for c in n.classes),
        tuple(offers),
    )


def operating_rates() -> dict[str, int]:
    """The district's operating subsidies {class type: yuan per child per year} (booking)."""
    return {class_type: yuan for class_type, yuan, _source in subsidy_rows()}


def for_me(
    *,
    birth: date | None,
    months: int | None,
    district: str,
    home: str,
    children: int | None,
    nursery_id: int | None,
    on: date,
) -> eligibility.Outcome:
    """The helper's answer for a family; DomainError (400) for bad input."""
    try:
        age = eligibility.age_in_months(birth, months, on)
        count = eligibility.check_children(children)
    except eligibility.EligibilityError as exc:
        raise DomainError(exc.code, exc.message, 400, exc.field) from None
    known = {path for path, _label in districts(home)}
    if district not in known:
        raise DomainError("unknown_district", "请从列表中选择所在区县", 400, "district")
    nursery = nursery_facts(nursery_id) if nursery_id is not None else None
    situation = eligibility.Situation(age, on, district, home, count, birth, nursery)
    return eligibility.evaluate(situation, visible_data(), operating_rates())
