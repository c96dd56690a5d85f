"""publication rules on records

Columns of ``records`` for the publication rules (creditsync.publication, reference §8):

- ``severity``: 轻微 / 一般 / 严重 of a penalty (sets its display period);
- ``display_until``: the last day of display (indexed: the daily expiry run looks records up by it);
- ``withdraw_reason``: why the gateway took it off display (公示期满, 信用修复), which sets the state
  it ends in once the platform acknowledges the withdrawal (expired, repaired);
- ``repair_decision_no``: the credit repair decision's number (信用修复决定书文号);
- ``published_within_days`` / ``withdrawn_within_days``: working days from the decision date (or the
  withdrawal's cause) to the platform's acknowledgement.

Revision ID: 0003_publication
Revises: 0003_audit
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_publication'
down_revision = '0003_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.add_column(sa.Column('severity', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('display_until', sa.Date(), nullable=True))
        batch.add_column(sa.Column('withdraw_reason', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('repair_decision_no', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('published_within_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('withdrawn_within_days', sa.Integer(), nullable=True))
    op.create_index('ix_records_display_until', 'records', ['display_until'])


def downgrade() -> None:
    op.drop_index('ix_records_display_until', table_name='records')
    with op.batch_alter_table('records') as batch:
        for column in ('withdrawn_within_days', 'published_within_days', 'repair_decision_no',
                       'withdraw_reason', 'display_until', 'severity'):
            batch.drop_column(column)
