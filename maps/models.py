"""Registry tables: streets, communities, nurseries, their classes and care offers."""

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Time,
    UniqueConstraint,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .domain import CLASS_TYPES, admitted_months, street_kind_from_name
from .pricing import PriceRule


class RegistryVersion(db.Model):
    """One row whose number every registry change bumps, so each process's index can tell."""

    __tablename__ = "registry_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


def bump_registry_version() -> None:
    """Mark the registry changed, inside the caller's transaction."""
    db.session.execute(
        update(RegistryVersion)
        .where(RegistryVersion.id == 1)
        .values(version=RegistryVersion.version + 1)
    )


def _kind_from_name(context) -> str:
    return street_kind_from_name(context.get_current_parameters().get("name") or "")


class Street(db.Model):
    """镇街: a town or subdistrict, territorially responsible for every site in it."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # domain.STREET_KINDS; unless given, read from the name's ending (…街道, …镇, …乡)
    kind: Mapped[str] = mapped_column(
        String(16), default=_kind_from_name, server_default="subdistrict"
    )

    __table_args__ = (
        CheckConstraint("kind IN ('subdistrict', 'town', 'township')", name="ck_street_kind"),
    )


class Community(db.Model):
    """小区 / 社区: a residential area with its population, for coverage indicators."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source_coordsys: Mapped[str] = mapped_column(String(8), default="wgs84")
    population: Mapped[int] = mapped_column(Integer)
    children_under_3: Mapped[int] = mapped_column(Integer)
    # 城镇 (True) or 农村: 绍兴's 5-minute life-circle indicator is over 城镇 communities
    urban: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    street: Mapped[Street | None] = relationship()

    __table_args__ = (
        CheckConstraint("population >= 0", name="ck_community_population"),
        CheckConstraint("children_under_3 >= 0", name="ck_community_children"),
    )


class Nursery(db.Model):
    """托育机构: a childcare provider. Only filed ones (with a filing number) are public."""

    __tablename__ = "nurseries"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    kind: Mapped[str] = mapped_column(String(24), default="private")
    inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    filing_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    filing_date: Mapped[date | None] = mapped_column(Date)
    grade: Mapped[str | None] = mapped_column(String(16))
    demonstration: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float] = mapped_column(Float)  # WGS-84
    lon: Mapped[float] = mapped_column(Float)
    source_coordsys: Mapped[str] = mapped_column(String(8), default="wgs84")
    phone: Mapped[str | None] = mapped_column(String(32))
    opens_at: Mapped[time] = mapped_column(Time, default=time(7, 30))
    closes_at: Mapped[time] = mapped_column(Time, default=time(17, 30))
    capacity: Mapped[int] = mapped_column(Integer, default=0)  # 托位数, as filed
    description: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )
    street: Mapped[Street | None] = relationship()
    classes: Mapped[list["NurseryClass"]] = relationship(
        back_populates="nursery", cascade="all, delete-orphan", order_by="NurseryClass.id"
    )
    offers: Mapped[list["Offer"]] = relationship(
        back_populates="nursery", cascade="all, delete-orphan", order_by="Offer.id"
    )
    staff: Mapped[list["NurseryStaff"]] = relationship(
        cascade="all, delete-orphan", order_by="NurseryStaff.id"
    )

    @property
    def is_filed(self) -> bool:
        return self.filing_no is not None

    def admitted_months(self) -> set[int]:
        """Ages in whole months that at least one class admits."""
        return admitted_months(self.kind, [c.class_type for c in self.classes])


class NurseryClass(db.Model):
    """A class (乳儿班, 托小班, 托大班, 混合班) with its carers and capacity."""

    __tablename__ = "nursery_classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    nursery_id: Mapped[int] = mapped_column(
        ForeignKey("nurseries.id", ondelete="CASCADE"), index=True
    )
    class_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    carers: Mapped[int] = mapped_column(Integer, default=1)
    capacity: Mapped[int] = mapped_column(Integer)
    nursery: Mapped[Nursery] = relationship(back_populates="classes")

    __table_args__ = (CheckConstraint("capacity >= 0", name="ck_class_capacity"),)

    @property
    def label(self) -> str:
        return CLASS_TYPES[self.class_type].label


STAFF_ROLES = {"caregiver": "保育师", "infant_carer": "育婴员", "health_worker": "保健员"}


class NurseryStaff(db.Model):
    """A carer or health worker on a nursery's filed staff list, with the certificate number
    (None: not yet certified). Staff are personal data: never shown publicly; planners read
    only the certificate rate (持证率)."""

    __tablename__ = "nursery_staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    nursery_id: Mapped[int] = mapped_column(
        ForeignKey("nurseries.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # STAFF_ROLES
    certificate_no: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint(
            "role IN ('caregiver', 'infant_carer', 'health_worker')", name="ck_staff_role"
        ),
    )


class Offer(db.Model):
    """A care type a nursery offers in one class type, with its price and places. Offers of
    one class type share its classes' places (maps/standards.py)."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(primary_key=True)
    nursery_id: Mapped[int] = mapped_column(
        ForeignKey("nurseries.id", ondelete="CASCADE"), index=True
    )
    care_type: Mapped[str] = mapped_column(String(16))
    # None only on offers from before every place had to belong to a class: not bookable.
    class_type: Mapped[str | None] = mapped_column(String(16))
    price_yuan: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # None: not published
    price_unit: Mapped[str] = mapped_column(String(8))
    capacity: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[str | None] = mapped_column(String(8))  # half_day: "am,pm", "am" or "pm"
    nursery: Mapped[Nursery] = relationship(back_populates="offers")

    __table_args__ = (
        UniqueConstraint("nursery_id", "care_type", "class_type", name="uq_offer"),
        CheckConstraint("capacity >= 0", name="ck_offer_capacity"),
        CheckConstraint("price_yuan >= 0", name="ck_offer_price"),
    )

    def session_list(self) -> list[str]:
        return (self.sessions or "am,pm").split(",")


class PlaceCounter(db.Model):
    """Places held in one slot of one offer ('enrol', 'am', 'pm', a date, or a date and hour).

    `capacity` is copied from the offer (and changed with it in one transaction) so that a place
    is taken by a single conditional UPDATE on this row.
    """

    __tablename__ = "place_counters"
    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        UniqueConstraint("offer_id", "slot", name="uq_counter"),
        CheckConstraint("taken >= 0 AND taken <= capacity", name="ck_counter_taken"),
    )


class PriceRuleRow(db.Model):
    """A district's guided price (政府指导价) or price cap (普惠限价) for one care type and class
    type (NULL: every class type without a row of its own): data an admin imports
    (`flask --app app prices import`), read as `maps.pricing.PriceRule`."""

    __tablename__ = "price_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    regime: Mapped[str] = mapped_column(String(8))  # guided | capped
    care_type: Mapped[str] = mapped_column(String(16))
    class_type: Mapped[str | None] = mapped_column(String(16))
    price_unit: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # guided: the base; capped: the cap
    float_up_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # guided only
    float_down_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # None: no floor
    source: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("regime", "care_type", "class_type", name="uq_price_rule"),
        CheckConstraint("regime IN ('guided','capped')", name="ck_price_rule_regime"),
        CheckConstraint("amount >= 0", name="ck_price_rule_amount"),
    )

    def to_rule(self) -> PriceRule:
        return PriceRule(
            regime=self.regime,
            care_type=self.care_type,
            class_type=self.class_type,
            price_unit=self.price_unit,
            amount=Decimal(self.amount),
            source=self.source,
            float_up_percent=None
            if self.float_up_percent is None
            else Decimal(self.float_up_percent),
            float_down_percent=(
                None if self.float_down_percent is None else Decimal(self.float_down_percent)
            ),
        )

    @classmethod
    def from_rule(cls, rule: PriceRule) -> "PriceRuleRow":
        return cls(
            regime=rule.regime,
            care_type=rule.care_type,
            class_type=rule.class_type,
            price_unit=rule.price_unit,
            amount=rule.amount,
            float_up_percent=rule.float_up_percent,
            float_down_percent=rule.float_down_percent,
            source=rule.source,
        )


def price_rules() -> list[PriceRule]:
    """The district's guided prices and caps in force (empty: none set, prices not bounded)."""
    return [r.to_rule() for r in db.session.scalars(select(PriceRuleRow).order_by(PriceRuleRow.id))]
