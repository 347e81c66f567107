"""Registry use cases: importing nurseries (their prices within the district's price rules)
and communities, all or nothing; replacing the price rules."""

from sqlalchemy import delete, select

import audit
from database import use_case
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


def import_nurseries(data: bytes, filename: str) -> ImportResult:
    """Add the nurseries of a file to the registry, or nothing if any row is bad."""
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
        known_filing = set(
            db.session.scalars(
                select(Nursery.filing_no).where(
                    Nursery.filing_no.in_([f for f in seen_filing if f])
                )
            )
        )
        known_sites = {
            (name, address)
            for name, address in db.session.execute(
                select(Nursery.name, Nursery.address).where(
                    Nursery.name.in_([name for name, _ in seen_site])
                )
            )
        }
        for line, item in parsed:
            if item["filing_no"] in known_filing:
                errors.append((line, f"备案号 {item['filing_no']} 已在登记库中"))
            if (item["name"], item["address"]) in known_sites:
                errors.append((line, f"机构 {item['name']}（{item['address']}）已在登记库中"))
        errors += _price_errors(parsed)
        if errors:
            raise ImportFailed(sorted(errors)[:MAX_ERRORS])
        streets = StreetLookup()
        for _, item in parsed:
            care_types = item.pop("care_types")
            prices = item.pop("prices")
            item["street"] = streets.get(item["street"])
            nursery = Nursery(**item)
            for care_type in care_types:
                # The care types as filed, without places: the filed 托位数 is an upper bound,
                # not a class, and every place belongs to a class the nursery registers (then
                # offers its places in) on the portal or through the nursery API.
                nursery.offers.append(
                    Offer(
                        care_type=care_type,
                        class_type=None,
                        price_yuan=prices.get(care_type),
                        price_unit=DEFAULT_PRICE_UNIT[care_type],
                        capacity=0,
                    )
                )
            db.session.add(nursery)
        bump_registry_version()
    return ImportResult(created=len(parsed), streets_created=streets.created)


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
