"""run streams remember the file rows that took a decision down: a pull retried in the same run reads
the file again knowing what its later rows did

Revision ID: 0014_run_stream_takedowns
Revises: 0013_quarantine_by_number
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_run_stream_takedowns'
down_revision = '0013_quarantine_by_number'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('run_streams', sa.Column('taken_down', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('run_streams') as batch:
        batch.drop_column('taken_down')
