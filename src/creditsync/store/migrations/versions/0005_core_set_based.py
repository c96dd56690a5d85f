"""set-based pipeline: no staging, the writing run on each record, indexes for chunk-wise lookups

- ``staged_records`` is dropped: source rows are mapped and stored a chunk at a time, so raw rows
  (which may hold ID numbers) never rest in the store.
- ``records.run_id``: the run that wrote the current version (two source records claiming one
  business key in the same run are a conflict, not a silent last-one-wins).
- ``outbox (run_id, status)``: the report and the cursor commit count a run's pending items.
- ``quarantine (department, category, source_hash)``: an unchanged bad record re-read through the cursor
  overlap is recognised by its content hash, for a whole chunk in one query.

Revision ID: 0003_core
Revises: 0003_publication
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_core'
down_revision = '0003_publication'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('staged_records')
    with op.batch_alter_table('records') as batch:
        batch.add_column(sa.Column('run_id', sa.String(length=250), nullable=True))
    op.create_index('ix_outbox_run', 'outbox', ['run_id', 'status'])
    op.create_index('ix_quarantine_source_hash', 'quarantine', ['department', 'category', 'source_hash'])


def downgrade() -> None:
    op.drop_index('ix_quarantine_source_hash', table_name='quarantine')
    op.drop_index('ix_outbox_run', table_name='outbox')
    with op.batch_alter_table('records') as batch:
        batch.drop_column('run_id')
    op.create_table(
        'staged_records',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('run_id', sa.String(length=250), nullable=False),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('source_key', sa.String(length=200), nullable=False),
        sa.Column('cursor', sa.String(length=64), nullable=True),
        sa.Column('source_hash', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
    )
    op.create_index('ix_staged_run', 'staged_records', ['run_id', 'category', 'id'])
