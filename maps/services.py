"""Registry use cases: importing nurseries (their prices within the district's price rules)
and communities, all or nothing; replacing the price rules."""

from collections import defaultdict

from sqlalchemy import delete, select, update

import audit
from database import bulk_insert, use_case
from errors import DomainError, NotFound
from extensions import db

from .domain import DEFAULT_PRICE_UNIT, STREET_KINDS
from .importer import (
    COMMUNITY_OPTIONAL,
    COMMUNITY_REQUIRED,
    MAX_ERRORS,
    NURSERY_OPTIONAL,
    NURSERY_REQUIRED,
    PRICE_COLUMNS,
    ImportFailed,
    ImportResult,
    StreetLookup,
    collect,
    parse_community,
    parse_nursery,
    read_rows,
)
from .models import (
    Community,
    Nursery,
    Offer,
    PriceRuleRow,
    Street,
    bump_registry_version,
    price_rules,
)
from .pricing import PriceRule, PriceRuleError, check_price

# Columns an --update compares and rewrites (the registry's own record of a nursery; classes,
# places and bookings are the nursery's, kept as they are).
UPDATABLE = (
    "name",
    "address",
    "lat",
    "lon",
    "source_coordsys",
    "filing_date",
    "kind",
    "inclusive",
    "demonstration",
    "grade",
    "street_id",
    "phone",
    "capacity",
)
CHUNK = 5_000  # rows per bulk statement: progress steps, and well under every driver's limits


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _refresh_statistics() -> None:
    """After a bulk import, tell PostgreSQL's planner how big the registry now is: until
    autovacuum gets to it, a planner that still thinks the tables are nearly empty scans them
    whole, and a search at 100,000 nurseries took 24 ms instead of 2 ms (docs/performance.md)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE nurseries, offers, place_counters, nursery_classes")


def import_nurseries(
    data: bytes, filename: str, update: bool = False, progress=None
) -> ImportResult:
    """Add the nurseries of a file to the registry, or nothing if any row is bad.

    `update`: a row whose 备案号 (filing_no) is already in the registry updates that nursery's
    changed fields (and adds the care types it newly lists, with their prices) instead of
    being refused, in the same all-or-nothing transaction; the result counts created, updated
    and unchanged rows. Rows are written in bulk (`database.bulk_insert`: COPY on PostgreSQL,
    executemany with RETURNING elsewhere; one per CHUNK rows), not one ORM object each.
    `progress(done, total)` is called as rows are written (the command line's progress bar).
    """
    rows = read_rows(data, filename, NURSERY_REQUIRED, NURSERY_OPTIONAL)
    parsed = collect(rows, parse_nursery)
    errors, seen_filing, seen_site = [], {}, {}
    for line, item in parsed:
        site = (item["name"], item["address"])
        if item["filing_no"] and item["filing_no"] in seen_filing:
            errors.append(
                (line, f"备案号 {item['filing_no']} 与第 {seen_filing[item['filing_no']]} 行重复")
            )
        if site in seen_site:
            errors.append((line, f"机构 {item['name']} 与第 {seen_site[site]} 行重复"))
        seen_filing.setdefault(item["filing_no"], line)
        seen_site.setdefault(site, line)
    with use_case(deliver=False):
        # The whole registry's keys in two reads (an IN list of 100,000 names would pass
        # SQLite's limit on parameters).
        compared = [getattr(Nursery, c) for c in UPDATABLE]
        by_filing = {
            row.filing_no: row
            for row in db.session.execute(
                select(Nursery.id, Nursery.filing_no, *compared).where(
                    Nursery.filing_no.is_not(None)
                )
            )
        }
        known_sites = {
            (name, address): id_
            for id_, name, address in db.session.execute(
                select(Nursery.id, Nursery.name, Nursery.address)
            )
        }
        new, matched = [], []
        for line, item in parsed:
            existing = by_filing.get(item["filing_no"]) if item["filing_no"] else None
            if existing is not None and not update:
                errors.append((line, f"备案号 {item['filing_no']} 已在登记库中"))
            site_owner = known_sites.get((item["name"], item["address"]))
            if site_owner is not None and (existing is None or site_owner != existing.id):
                errors.append((line, f"机构 {item['name']}（{item['address']}）已在登记库中"))
            (matched if existing is not None else new).append((line, item, existing))
        errors += _price_errors(parsed)
        if errors:
            raise ImportFailed(sorted(errors)[:MAX_ERRORS])
        streets = StreetLookup()
        for _, item, _ in new + matched:
            street = streets.get(item.pop("street"))
            item["street_id"] = street.id if street is not None else None
        total = len(new) + len(matched)
        step = (lambda n: progress(n, total)) if progress else None
        created = _insert_nurseries([item for _, item, _ in new], step)
        updated = _update_nurseries(matched, step)
        if created or updated:
            bump_registry_version()
    if created + updated > 1000:
        _refresh_statistics()
    return ImportResult(
        created=created,
        updated=updated,
        unchanged=len(matched) - updated,
        streets_created=streets.created,
    )


def _offer_row(nursery_id: int, care_type: str, price) -> dict:
    # The care types as filed, without places: the filed 托位数 is an upper bound, not a class,
    # and every place belongs to a class the nursery registers (then offers its places in) on
    # the portal or through the nursery API.
    return {
        "nursery_id": nursery_id,
        "care_type": care_type,
        "class_type": None,
        "price_yuan": price,
        "price_unit": DEFAULT_PRICE_UNIT[care_type],
        "capacity": 0,
    }


def _insert_nurseries(items: list[dict], progress) -> int:
    for chunk in _chunks(items):
        values = [
            {k: v for k, v in item.items() if k not in ("care_types", "prices")} for item in chunk
        ]
        ids = bulk_insert(Nursery, values, return_ids=True)
        offers = [
            _offer_row(nursery_id, care_type, item["prices"].get(care_type))
            for nursery_id, item in zip(ids, chunk, strict=True)
            for care_type in item["care_types"]
        ]
        bulk_insert(Offer, offers)
        if progress:
            progress(len(chunk))
    return len(items)


def _update_nurseries(matched: list, progress) -> int:
    """Rewrite the changed fields of the matched nurseries; add newly listed care types and
    set the prices a row gives on its care types' offers. Returns how many changed."""
    if not matched:
        return 0
    ids = [existing.id for _, _, existing in matched]
    offers = defaultdict(dict)  # nursery id -> care type -> [(offer id, price)]
    for chunk in _chunks(ids):
        for offer_id, nursery_id, care_type, price in db.session.execute(
            select(Offer.id, Offer.nursery_id, Offer.care_type, Offer.price_yuan).where(
                Offer.nursery_id.in_(chunk)
            )
        ):
            offers[nursery_id].setdefault(care_type, []).append((offer_id, price))
    nursery_changes, new_offers, price_changes, changed = [], [], [], 0
    for _, item, existing in matched:
        fields = {c: item[c] for c in UPDATABLE if item[c] != getattr(existing, c)}
        held = offers[existing.id]
        added = [c for c in item["care_types"] if c not in held]
        prices = [
            {"id": offer_id, "price_yuan": price}
            for care_type, price in item["prices"].items()
            for offer_id, old in held.get(care_type, [])
            if old != price
        ]
        if fields:
            nursery_changes.append({"id": existing.id, **fields})
        new_offers += [_offer_row(existing.id, c, item["prices"].get(c)) for c in added]
        price_changes += prices
        changed += bool(fields or added or prices)
    for chunk in _chunks(nursery_changes):
        db.session.execute(update(Nursery), chunk)  # ORM bulk UPDATE by primary key
        if progress:
            progress(len(chunk))
    if progress and len(matched) > len(nursery_changes):
        progress(len(matched) - len(nursery_changes))
    for chunk in _chunks(new_offers):
        bulk_insert(Offer, chunk)
    for chunk in _chunks(price_changes):
        db.session.execute(update(Offer), chunk)
    return changed


def _price_errors(parsed) -> list[tuple[int, str]]:
    """Rows whose prices break their regime (a 普惠 cap, a guided range), with the rule."""
    rules, errors = price_rules(), []
    for line, item in parsed:
        for care_type, price in item["prices"].items():
            try:
                check_price(
                    rules,
                    item["kind"],
                    item["inclusive"],
                    care_type,
                    None,
                    price,
                    DEFAULT_PRICE_UNIT[care_type],
                )
            except PriceRuleError as exc:
                errors.append((line, f"{PRICE_COLUMNS[care_type]}：{exc.message}"))
    return errors


def import_communities(data: bytes, filename: str) -> ImportResult:
    """Add the communities of a file, or nothing if any row is bad."""
    rows = read_rows(data, filename, COMMUNITY_REQUIRED, COMMUNITY_OPTIONAL)
    parsed = collect(rows, parse_community)
    errors, seen = [], {}
    for line, item in parsed:
        if item["name"] in seen:
            errors.append((line, f"小区 {item['name']} 与第 {seen[item['name']]} 行重复"))
        seen.setdefault(item["name"], line)
    with use_case(deliver=False):
        known = set(
            db.session.scalars(select(Community.name).where(Community.name.in_(list(seen))))
        )
        errors += [
            (line, f"小区 {item['name']} 已在库中")
            for line, item in parsed
            if item["name"] in known
        ]
        if errors:
            raise ImportFailed(sorted(errors)[:MAX_ERRORS])
        streets = StreetLookup()
        for _, item in parsed:
            item["street"] = streets.get(item["street"])
            db.session.add(Community(**item))
        bump_registry_version()
    return ImportResult(created=len(parsed), streets_created=streets.created)


def _street_kind(value: str) -> str:
    code = {label: code for code, label in STREET_KINDS.items()}.get(value.strip(), value.strip())
    if code not in STREET_KINDS:
        raise DomainError(
            "invalid_street_kind",
            f"镇街类型须为 {'、'.join(STREET_KINDS.values())}（或 {'、'.join(STREET_KINDS)}）",
        )
    return code


def set_street_kind(code: str, kind: str) -> Street:
    """Say whether a 镇街 is a 街道, a 镇 or a 乡 (the coverage indicators count them apart)."""
    kind = _street_kind(kind)
    with use_case(deliver=False):
        street = db.session.scalar(select(Street).where(Street.code == code))
        if street is None:
            raise NotFound("unknown_street", f"未知的镇街代码：{code}")
        street.kind = kind
        bump_registry_version()
    return street


def set_community_urban(name: str, urban: bool) -> Community:
    """Mark a community 城镇 or 农村 (the 5-minute life-circle indicator is over 城镇 ones)."""
    with use_case(deliver=False):
        community = db.session.scalar(select(Community).where(Community.name == name))
        if community is None:
            raise NotFound("unknown_community", f"未知的小区：{name}")
        community.urban = urban
        bump_registry_version()
    return community


def replace_price_rules(rules: list[PriceRule], actor_id: int | None, reason: str) -> int:
    """Put a district's guided prices and caps in force in place of the current ones (the whole
    table, in one transaction, audited). Offers already on file are not rewritten: the ones
    the new rules refuse are reported (`queries.offers_outside_price_rules`)."""
    with use_case():
        db.session.execute(delete(PriceRuleRow))
        db.session.add_all(PriceRuleRow.from_rule(r) for r in rules)
        audit.record(actor_id, "prices.replace", "price_rules", 0, reason[:200] or None)
        bump_registry_version()  # the pages show the rules beside the prices
    return len(rules)
