"""audit: keyed chain

- ``audit_log.scheme``: how an entry's hash was made, ``sha256`` (unkeyed: every entry written before
  this revision, and development without a key) or ``hmac-sha256:<key id>`` (creditsync.audit.keys), so
  existing entries still verify after a key is configured.

Revision ID: 0003_audit
Revises: 0002
Create Date: 2026-11-30 15:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_audit'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme', sa.String(length=40), server_default='sha256', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('scheme')
