"""media: logged images, tables, plots, video, audio and html, and their files

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("run_pk", _BIG_ID, nullable=False),
        sa.Column("client_seq", sa.BigInteger(), nullable=False),
        sa.Column("ingest_seq", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_pk", "client_seq"),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index("media_by_ingest", ["run_pk", "ingest_seq"], unique=False)
        batch_op.create_index("media_by_key", ["run_pk", "key", "idx"], unique=False)
    op.create_table(
        "media_files",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "media_refs",
        sa.Column("run_pk", _BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.id"]),
        sa.PrimaryKeyConstraint("run_pk", "name"),
    )


def downgrade() -> None:
    op.drop_table("media_refs")
    op.drop_table("media_files")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index("media_by_key")
        batch_op.drop_index("media_by_ingest")
    op.drop_table("media")
