"""quality alerts: which records were alerted as not acknowledged by working day 5

- ``quality_alerts``: one row per record the daily quality run alerted (the deadline of 7 working days
  near and the platform's acknowledgement still missing), so that each record is alerted once.

Revision ID: 0008_quality
Revises: 0007_typed_cursors
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_quality'
down_revision = '0007_typed_cursors'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quality_alerts',
        sa.Column('business_key', sa.String(length=250), primary_key=True),
        sa.Column('department', sa.String(length=64), nullable=False),
        sa.Column('document_no', sa.String(length=128), nullable=False),
        sa.Column('decision_date', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('working_days', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_quality_alerts_department', 'quality_alerts', ['department', 'alerted_at'])


def downgrade() -> None:
    op.drop_index('ix_quality_alerts_department', table_name='quality_alerts')
    op.drop_table('quality_alerts')
