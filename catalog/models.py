"""Categories, listings and their reviewed versions, plans and their price components."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.pricing import Aggregation, ComponentKind, PriceModel
from marketplace.db import Base, check_in
from marketplace.errors import Conflict
from marketplace.orgs.models import Organization

QUANTITY = sa.Numeric(20, 6)


class CategoryKind(StrEnum):
    """Whether a category is a service layer (IaaS, PaaS, SaaS) or a line of business."""

    LAYER = "layer"
    BUSINESS = "business"


class ListingStatus(StrEnum):
    """Where a listing stands in review and on the storefront."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    DELISTED = "delisted"


class ReviewStatus(StrEnum):
    """Where one version of a listing's content stands in review."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class PlanStatus(StrEnum):
    """Whether a plan version is still editable, on sale, or withdrawn from sale."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class BillingInterval(StrEnum):
    """How often a plan bills."""

    MONTH = "month"
    YEAR = "year"


class Category(Base):
    """A service layer or business category listings are filed under."""

    __tablename__ = "categories"
    __table_args__ = (sa.CheckConstraint(check_in("kind", CategoryKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    sort_order: Mapped[int] = mapped_column(default=0)


class Listing(Base):
    """A vendor's product on the marketplace; its content lives in versions."""

    __tablename__ = "listings"
    __table_args__ = (
        # A vendor's sandbox listings live beside its live ones: a slug is unique per mode.
        sa.UniqueConstraint("vendor_id", "sandbox", "slug"),
        sa.CheckConstraint(check_in("status", ListingStatus), name="status"),
        # Vendors' loudest complaint about other marketplaces: rejections without a reason.
        sa.CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejected_with_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(16), default=ListingStatus.DRAFT)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    sandbox: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    vendor: Mapped[Organization] = relationship()
    versions: Mapped[list[ListingVersion]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="ListingVersion.version"
    )
    plans: Mapped[list[Plan]] = relationship(
        back_populates="listing",
        cascade="all, delete-orphan",
        order_by="[Plan.code, Plan.version]",
    )


listing_version_categories = sa.Table(
    "listing_version_categories",
    Base.metadata,
    sa.Column(
        "listing_version_id",
        sa.ForeignKey("listing_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "category_id",
        sa.ForeignKey("categories.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class ListingVersion(Base):
    """The content a vendor edits and the operator reviews, numbered per listing."""

    __tablename__ = "listing_versions"
    __table_args__ = (
        sa.UniqueConstraint("listing_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint(check_in("review_status", ReviewStatus), name="review_status"),
        # A draft may be incomplete; what goes to review must sit in a service layer.
        sa.CheckConstraint(
            "review_status = 'draft' OR layer_category_id IS NOT NULL", name="layer_when_submitted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    summary_zh: Mapped[str] = mapped_column(sa.String(500), default="")
    summary_en: Mapped[str] = mapped_column(sa.String(500), default="")
    description_md: Mapped[str] = mapped_column(sa.Text, default="")
    layer_category_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    logo_url: Mapped[str | None] = mapped_column(sa.String(500))
    screenshots: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    support_email: Mapped[str | None] = mapped_column(sa.String(254))
    support_phone: Mapped[str | None] = mapped_column(sa.String(40))
    launch_url: Mapped[str | None] = mapped_column(sa.String(500))
    sso_redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    review_status: Mapped[str] = mapped_column(sa.String(16), default=ReviewStatus.DRAFT)
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship(back_populates="versions")
    layer_category: Mapped[Category | None] = relationship()
    business_categories: Mapped[list[Category]] = relationship(
        secondary=listing_version_categories, order_by="Category.sort_order"
    )


def _trigram_index(name: str, column: sa.orm.InstrumentedAttribute[str]) -> sa.Index:
    """Return a GIN trigram index on column, which serves ILIKE '%…%' (PostgreSQL only)."""
    index = sa.Index(
        name, column, postgresql_using="gin", postgresql_ops={column.key: "gin_trgm_ops"}
    )
    return index.ddl_if(dialect="postgresql")


# Storefront search (catalog.storefront) matches anywhere in these columns; migration 0007
# creates the same indexes on PostgreSQL.
SEARCH_INDEXES = (
    _trigram_index("ix_listing_versions_name_zh_trgm", ListingVersion.name_zh),
    _trigram_index("ix_listing_versions_name_en_trgm", ListingVersion.name_en),
    _trigram_index("ix_listing_versions_summary_zh_trgm", ListingVersion.summary_zh),
    _trigram_index("ix_listing_versions_summary_en_trgm", ListingVersion.summary_en),
    _trigram_index("ix_organizations_name_trgm", Organization.name),
)


class Plan(Base):
    """One version of a plan; published versions are never changed, only superseded."""

    __tablename__ = "plans"
    __table_args__ = (
        sa.UniqueConstraint("listing_id", "code", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("length(currency) = 3", name="currency_code"),
        sa.CheckConstraint(check_in("billing_interval", BillingInterval), name="billing_interval"),
        sa.CheckConstraint("trial_days >= 0", name="trial_days_non_negative"),
        sa.CheckConstraint("vat_rate >= 0 AND vat_rate < 1", name="vat_rate_range"),
        sa.CheckConstraint(check_in("status", PlanStatus), name="status"),
        sa.CheckConstraint(
            "status = 'draft' OR published_at IS NOT NULL", name="published_at_when_published"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(default=1)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    billing_interval: Mapped[str] = mapped_column(sa.String(8), default=BillingInterval.MONTH)
    trial_days: Mapped[int] = mapped_column(default=0)
    auto_activate: Mapped[bool] = mapped_column(default=False)
    # VAT included in the plan's prices; 6% is the rate for IT services.
    vat_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), default=Decimal("0.06"))
    status: Mapped[str] = mapped_column(sa.String(16), default=PlanStatus.DRAFT)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship(back_populates="plans")
    components: Mapped[list[PriceComponent]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PriceComponent.position"
    )


class PriceComponent(Base):
    """One thing a plan charges for: a flat fee, seats, or a metered dimension."""

    __tablename__ = "price_components"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "position"),
        # NULLs are distinct, so only metered components compete for a dimension.
        sa.UniqueConstraint("plan_id", "dimension"),
        sa.CheckConstraint(check_in("kind", ComponentKind), name="kind"),
        sa.CheckConstraint(check_in("aggregation", Aggregation), name="aggregation"),
        sa.CheckConstraint(check_in("model", PriceModel), name="model"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint("unit_amount_fen >= 0", name="unit_amount_non_negative"),
        sa.CheckConstraint("package_amount_fen >= 0", name="package_amount_non_negative"),
        sa.CheckConstraint("package_size > 0", name="package_size_positive"),
        sa.CheckConstraint("included_quantity >= 0", name="included_non_negative"),
        sa.CheckConstraint("min_seats >= 0", name="min_seats_non_negative"),
        sa.CheckConstraint("max_seats >= min_seats", name="seat_bounds"),
        sa.CheckConstraint("kind <> 'flat' OR amount_fen IS NOT NULL", name="flat_has_amount"),
        sa.CheckConstraint(
            "kind <> 'seat' OR (unit_amount_fen IS NOT NULL AND min_seats IS NOT NULL)",
            name="seat_has_price",
        ),
        sa.CheckConstraint(
            "kind <> 'metered' OR (dimension IS NOT NULL AND aggregation IS NOT NULL"
            " AND model IS NOT NULL AND included_quantity IS NOT NULL)",
            name="metered_has_pricing",
        ),
        sa.CheckConstraint(
            "model IS NULL OR model <> 'per_unit' OR unit_amount_fen IS NOT NULL",
            name="per_unit_has_price",
        ),
        sa.CheckConstraint(
            "model IS NULL OR model <> 'package'"
            " OR (package_size IS NOT NULL AND package_amount_fen IS NOT NULL)",
            name="package_has_price",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    unit_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    min_seats: Mapped[int | None]
    max_seats: Mapped[int | None]
    dimension: Mapped[str | None] = mapped_column(sa.String(64))
    unit_name_zh: Mapped[str | None] = mapped_column(sa.String(40))
    unit_name_en: Mapped[str | None] = mapped_column(sa.String(40))
    aggregation: Mapped[str | None] = mapped_column(sa.String(16))
    model: Mapped[str | None] = mapped_column(sa.String(16))
    package_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    package_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    included_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)

    plan: Mapped[Plan] = relationship(back_populates="components")
    tiers: Mapped[list[PriceTier]] = relationship(
        back_populates="component", cascade="all, delete-orphan", order_by="PriceTier.position"
    )


class PriceTier(Base):
    """A band of a graduated or volume price; a NULL upper bound means no limit."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        sa.UniqueConstraint("component_id", "position"),
        sa.CheckConstraint("up_to > 0", name="up_to_positive"),
        sa.CheckConstraint("unit_amount_fen >= 0", name="unit_amount_non_negative"),
        sa.CheckConstraint("flat_amount_fen >= 0", name="flat_amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(
        sa.ForeignKey("price_components.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    up_to: Mapped[Decimal | None] = mapped_column(QUANTITY)
    unit_amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    flat_amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    component: Mapped[PriceComponent] = relationship(back_populates="tiers")


class PublishedPlanChanged(Conflict):
    """A published plan's terms were about to change in place instead of in a new version."""

    code = "plan_published"
    title = "A published plan cannot be changed; create a new version"


def _committed_status(plan: Plan) -> str | None:
    history = sa.inspect(plan).attrs.status.history
    if history.deleted:
        return str(history.deleted[0])
    return None if sa.inspect(plan).pending else plan.status


def _is_frozen(plan: Plan) -> bool:
    return _committed_status(plan) not in (None, PlanStatus.DRAFT)


def _changed_plan_terms(plan: Plan) -> list[str]:
    state = sa.inspect(plan)
    columns = state.mapper.column_attrs.keys()
    changed = [key for key in columns if key != "status" and state.attrs[key].history.has_changes()]
    if plan.status == PlanStatus.DRAFT:
        changed.append("status")  # a published plan may be retired, never made editable again
    return changed


# Rows added by foreign key alone have no related object loaded yet: fetch those by id.
def _component_of(session: sa.orm.Session, tier: PriceTier) -> PriceComponent | None:
    if tier.component is not None or tier.component_id is None:
        return tier.component
    return session.get(PriceComponent, tier.component_id)


def _owning_plan(session: sa.orm.Session, row: PriceComponent | PriceTier) -> Plan | None:
    component = row if isinstance(row, PriceComponent) else _component_of(session, row)
    if component is None:
        return None
    if component.plan is not None or component.plan_id is None:
        return component.plan
    return session.get(Plan, component.plan_id)


def refuse_changes_to_published_plans(
    session: sa.orm.Session, _context: object, _instances: object
) -> None:
    """Stop a flush that would change a published or retired plan's terms in place."""
    for plan in session.dirty:
        if isinstance(plan, Plan) and _is_frozen(plan) and _changed_plan_terms(plan):
            raise PublishedPlanChanged(f"plan {plan.code} v{plan.version}")
    rows = [*session.new, *session.dirty, *session.deleted]
    for row in rows:
        if not isinstance(row, PriceComponent | PriceTier):
            continue
        if row in session.dirty and not session.is_modified(row):
            continue
        plan = _owning_plan(session, row)
        # Deleting a whole plan (or its listing) takes its components along; that is allowed.
        if plan is not None and _is_frozen(plan) and plan not in session.deleted:
            raise PublishedPlanChanged(f"plan {plan.code} v{plan.version}")


sa.event.listen(sa.orm.Session, "before_flush", refuse_changes_to_published_plans)
