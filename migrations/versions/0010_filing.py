"""Online filing (issue 12): applications, their timeline and their documents.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Written by hand and reviewed:
- `filing_applications`: a new nursery's filing (by an operator account, role `operator`), or
  a change or closure of a filed nursery (by its staff), with the content it proposes (the
  classes and staff list as JSON text), its status (CHECK: submitted, returned, approved,
  refused), the latest (re)submission, the review deadline and, once approved, the filing
  number issued (or, for a closure, retired: never issued again).
- `filing_events`: every step, timestamped (reasons per section when returned).
- `filing_attachments`: the documents' bytes (PDF, JPEG, PNG), served only to the applicant
  and the admin.
- No column is added to existing tables: a closed nursery loses its filing number (the
  registry's test of "public"), which its closure application keeps. Nothing to carry over:
  nurseries filed before this revision have no application (their change form starts from
  the registry). A database created from the models already has the tables: left as it is.
- Downgrade drops the three tables (applications are lost; the registry keeps every nursery
  approved through them, and staff accounts keep their nursery). Operator accounts stay.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "filing_applications" not in tables:
        op.create_table(
            "filing_applications",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("applicant_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
            sa.Column(
                "nursery_id",
                sa.Integer(),
                sa.ForeignKey("nurseries.id", ondelete="SET NULL"),
                nullable=True,
            ),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("kind_of_nursery", sa.String(length=24), nullable=False),
            sa.Column("registration", sa.String(length=24), nullable=False),
            sa.Column("registration_no", sa.String(length=18), nullable=False),
            sa.Column("phone", sa.String(length=32), nullable=True),
            sa.Column("address", sa.String(length=200), nullable=False),
            sa.Column("street_id", sa.Integer(), sa.ForeignKey("streets.id"), nullable=True),
            sa.Column("lat", sa.Float(), nullable=False),
            sa.Column("lon", sa.Float(), nullable=False),
            sa.Column("source_coordsys", sa.String(length=8), nullable=False),
            sa.Column("floor_area_m2", sa.Float(), nullable=True),
            sa.Column("outdoor_area_m2", sa.Float(), nullable=True),
            sa.Column("serves_meals", sa.Boolean(), nullable=False),
            sa.Column("care_types", sa.String(length=64), nullable=False),
            sa.Column("classes_json", sa.Text(), nullable=False),
            sa.Column("staff_json", sa.Text(), nullable=False),
            sa.Column("reason", sa.Text(), nullable=True),
            sa.Column("submitted_at", sa.DateTime(), nullable=False),
            sa.Column("due_at", sa.DateTime(), nullable=True),
            sa.Column("decided_at", sa.DateTime(), nullable=True),
            sa.Column("filing_no", sa.String(length=64), nullable=True),
            sa.Column("filing_date", sa.Date(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.CheckConstraint("kind IN ('new', 'change', 'closure')", name="ck_filing_kind"),
            sa.CheckConstraint(
                "status IN ('submitted', 'returned', 'approved', 'refused')",
                name="ck_filing_status",
            ),
        )
        for column in ("applicant_id", "nursery_id", "filing_no"):
            op.create_index(f"ix_filing_applications_{column}", "filing_applications", [column])
    if "filing_events" not in tables:
        op.create_table(
            "filing_events",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "application_id",
                sa.Integer(),
                sa.ForeignKey("filing_applications.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("reasons_json", sa.Text(), nullable=True),
            sa.Column("due_at", sa.DateTime(), nullable=True),
        )
        op.create_index("ix_filing_events_application_id", "filing_events", ["application_id"])
    if "filing_attachments" not in tables:
        op.create_table(
            "filing_attachments",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "application_id",
                sa.Integer(),
                sa.ForeignKey("filing_applications.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("doc_type", sa.String(length=24), nullable=False),
            sa.Column("filename", sa.String(length=120), nullable=False),
            sa.Column("content_type", sa.String(length=32), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        )
        op.create_index(
            "ix_filing_attachments_application_id", "filing_attachments", ["application_id"]
        )


def downgrade():
    op.drop_index("ix_filing_attachments_application_id", table_name="filing_attachments")
    op.drop_table("filing_attachments")
    op.drop_index("ix_filing_events_application_id", table_name="filing_events")
    op.drop_table("filing_events")
    for column in ("applicant_id", "nursery_id", "filing_no"):
        op.drop_index(f"ix_filing_applications_{column}", table_name="filing_applications")
    op.drop_table("filing_applications")
