"""one record lifecycle: seals, per-chunk audit binding, new states, sealed outbox payloads

- ``records.state`` is wider (``operator_withdrawn``); ``records.seal`` is the HMAC over the row
  (creditsync.lifecycle.seal); ``withdraw_reason`` holds a cause (``expired``, ``repaired``, …) instead
  of the Chinese reason text; an index on (department, category, source_key) finds the record a
  department's own id is linked to (a changed 文书号 under the same id).
- ``record_versions.seal`` and ``audit_entry_id``: the ``versions_stored`` entry whose Merkle root
  binds the version.
- ``outbox.sealed``: the payload encrypted and bound to the item's identity; ``outbox.payload`` (plain
  JSON) is kept only for items written before this revision, until ``creditsync db-upgrade`` seals
  them; ``receipt_entry_id``: the ``receipts_stored`` entry that binds the platform's answer.
- ``quarantine``: ``last_seen_at`` (the bad record was read again), ``retried_at`` and
  ``retry_outcome`` (a re-drive re-read it), ``errors`` entries may carry ``kind``, ``zh`` and ``en``.
- ``cursors.seal``.

Rows written before this revision have no seal: ``creditsync db-upgrade`` seals them once, with a
``store_sealed`` audit entry (creditsync.lifecycle.adoption).

Revision ID: 0006_lifecycle
Revises: 0003_core
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_lifecycle'
down_revision = '0003_core'
branch_labels = None
depends_on = None

CAUSES = {'公示期满': 'expired', '信用修复': 'repaired'}


def upgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.alter_column('state', type_=sa.String(length=24), existing_type=sa.String(length=16))
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    op.create_index('ix_records_source_link', 'records', ['department', 'category', 'source_key'])
    for old, new in CAUSES.items():
        op.execute(sa.text("UPDATE records SET withdraw_reason = :new WHERE withdraw_reason = :old")
                   .bindparams(new=new, old=old))
    op.execute("UPDATE records SET withdraw_reason = 'revoked' "
               "WHERE state = 'withdrawing' AND withdraw_reason IS NULL")
    with op.batch_alter_table('record_versions') as batch:
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('audit_entry_id', sa.Integer(), nullable=True))
    op.create_index('ix_record_versions_audit_entry_id', 'record_versions', ['audit_entry_id'])
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('sealed', sa.Text(), nullable=True))
        batch.add_column(sa.Column('receipt_entry_id', sa.Integer(), nullable=True))
        batch.alter_column('payload', nullable=True, existing_type=sa.JSON())
    op.create_index('ix_outbox_receipt_entry_id', 'outbox', ['receipt_entry_id'])
    with op.batch_alter_table('quarantine') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('retried_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('retry_outcome', sa.String(length=32), nullable=True))
    with op.batch_alter_table('cursors') as batch:
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cursors') as batch:
        batch.drop_column('seal')
    with op.batch_alter_table('quarantine') as batch:
        for column in ('retry_outcome', 'retried_at', 'last_seen_at'):
            batch.drop_column(column)
    op.drop_index('ix_outbox_receipt_entry_id', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('receipt_entry_id')
        batch.drop_column('sealed')
    op.drop_index('ix_record_versions_audit_entry_id', table_name='record_versions')
    with op.batch_alter_table('record_versions') as batch:
        batch.drop_column('audit_entry_id')
        batch.drop_column('seal')
    for old, new in CAUSES.items():
        op.execute(sa.text("UPDATE records SET withdraw_reason = :old WHERE withdraw_reason = :new")
                   .bindparams(new=new, old=old))
    op.drop_index('ix_records_source_link', table_name='records')
    with op.batch_alter_table('records') as batch:
        batch.drop_column('seal')
