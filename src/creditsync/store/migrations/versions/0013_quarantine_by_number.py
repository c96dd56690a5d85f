"""quarantine by business key: the rows held as claiming a 文书号 are found by the number they claim

Revision ID: 0013_quarantine_by_number
Revises: 0012_credit_loop
"""
from alembic import op

revision = '0013_quarantine_by_number'
down_revision = '0012_credit_loop'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_quarantine_business_key', 'quarantine', ['department', 'category', 'business_key'])


def downgrade() -> None:
    op.drop_index('ix_quarantine_business_key', table_name='quarantine')
