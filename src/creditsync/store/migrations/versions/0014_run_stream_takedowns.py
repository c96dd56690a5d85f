"""run streams remember the file rows that took a decision down: a pull retried in the same run reads
the file again knowing what its later rows did; and ``audit trace`` finds a relinked record by its old
id (PostgreSQL: an index on the source_relinked entries' from_source_key)

Revision ID: 0014_run_stream_takedowns
Revises: 0013_quarantine_by_number
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_run_stream_takedowns'
down_revision = '0013_quarantine_by_number'
branch_labels = None
depends_on = None


RELINKED = ("CREATE INDEX ix_audit_relinked_from ON audit_log ((details ->> 'from_source_key')) "
            "WHERE event = 'source_relinked'")


def upgrade() -> None:
    op.add_column('run_streams', sa.Column('taken_down', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot match a parameterised JSON path
        op.execute(RELINKED)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_audit_relinked_from")
    with op.batch_alter_table('run_streams') as batch:
        batch.drop_column('taken_down')
