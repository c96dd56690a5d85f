"""credit loop: the platform's lists and grades (every version kept), checks, draws, deliveries

Revision ID: 0012_credit_loop
Revises: 0008_quality
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_credit_loop'
down_revision = '0008_quality'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'credit_feed_pulls',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('feed', sa.String(16), nullable=False),
        sa.Column('since', sa.String(64)), sa.Column('cursor', sa.String(64)),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('first_version', sa.Integer()), sa.Column('last_version', sa.Integer()),
        sa.Column('pulled_at', TZ, nullable=False), sa.Column('actor', sa.String(120), nullable=False))
    op.create_index('ix_credit_feed_pulls_feed', 'credit_feed_pulls', ['feed', 'id'])
    op.create_table(
        'credit_list_versions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('entry_id', sa.String(64), nullable=False), sa.Column('pull_id', sa.Integer()),
        sa.Column('event', sa.String(16), nullable=False), sa.Column('status', sa.String(16), nullable=False),
        sa.Column('list_type', sa.String(16), nullable=False),
        sa.Column('subject_key', sa.String(64), nullable=False),
        sa.Column('subject_masked', sa.String(64), nullable=False),
        sa.Column('subject_name', sa.String(200), nullable=False),
        sa.Column('cause', sa.Text()), sa.Column('basis', sa.Text()), sa.Column('decision_no', sa.String(128)),
        sa.Column('authority', sa.String(200)), sa.Column('authority_code', sa.String(32)),
        sa.Column('start_date', sa.Date()), sa.Column('end_date', sa.Date()),
        sa.Column('measures', sa.JSON(), nullable=False), sa.Column('reason', sa.Text()),
        sa.Column('repair_decision_no', sa.String(128)),
        sa.Column('changed_at', TZ, nullable=False), sa.Column('known_at', TZ, nullable=False))
    op.create_index('ix_credit_list_versions_entry_id', 'credit_list_versions', ['entry_id'])
    op.create_index('ix_credit_list_versions_subject', 'credit_list_versions', ['subject_key', 'known_at'])
    op.create_table(
        'credit_list_current',
        sa.Column('entry_id', sa.String(64), primary_key=True),
        sa.Column('subject_key', sa.String(64), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False), sa.Column('status', sa.String(16), nullable=False))
    op.create_index('ix_credit_list_current_subject_key', 'credit_list_current', ['subject_key'])
    op.create_table(
        'credit_grade_versions',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('subject_key', sa.String(64), nullable=False),
        sa.Column('subject_masked', sa.String(64), nullable=False),
        sa.Column('subject_name', sa.String(200), nullable=False),
        sa.Column('grade', sa.String(4), nullable=False), sa.Column('graded_on', sa.Date()),
        sa.Column('pull_id', sa.Integer()),
        sa.Column('changed_at', TZ, nullable=False), sa.Column('known_at', TZ, nullable=False))
    op.create_index('ix_credit_grade_versions_subject', 'credit_grade_versions', ['subject_key', 'known_at'])
    op.create_table(
        'credit_grade_current',
        sa.Column('subject_key', sa.String(64), primary_key=True),
        sa.Column('version_id', sa.Integer(), nullable=False), sa.Column('grade', sa.String(4), nullable=False))
    op.create_table(
        'credit_checks',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('checked_at', TZ, nullable=False), sa.Column('actor', sa.String(120), nullable=False),
        sa.Column('department', sa.String(64)), sa.Column('matter', sa.String(64), nullable=False),
        sa.Column('subject_key', sa.String(64), nullable=False),
        sa.Column('subject_masked', sa.String(64), nullable=False),
        sa.Column('listed', sa.Boolean(), nullable=False), sa.Column('grade', sa.String(4)),
        sa.Column('result', sa.JSON(), nullable=False), sa.Column('audit_entry_id', sa.Integer()))
    op.create_index('ix_credit_checks_checked_at', 'credit_checks', ['checked_at'])
    op.create_index('ix_credit_checks_department', 'credit_checks', ['department'])
    op.create_index('ix_credit_checks_subject_key', 'credit_checks', ['subject_key'])
    op.create_index('ix_credit_checks_audit_entry_id', 'credit_checks', ['audit_entry_id'])
    op.create_table(
        'credit_draws',
        sa.Column('id', sa.String(32), primary_key=True),
        sa.Column('department', sa.String(64), nullable=False), sa.Column('plan', sa.JSON(), nullable=False),
        sa.Column('plan_hash', sa.String(64), nullable=False),
        sa.Column('seed_commitment', sa.String(64), nullable=False), sa.Column('seed', sa.String(64)),
        sa.Column('register_hash', sa.String(64)), sa.Column('status', sa.String(16), nullable=False),
        sa.Column('committed_at', TZ, nullable=False), sa.Column('published_at', TZ),
        sa.Column('actor', sa.String(120), nullable=False), sa.Column('result', sa.JSON()))
    op.create_index('ix_credit_draws_department', 'credit_draws', ['department'])
    op.create_table(
        'credit_deliveries',
        sa.Column('department', sa.String(64), primary_key=True), sa.Column('feed', sa.String(16), primary_key=True),
        sa.Column('last_version', sa.Integer(), nullable=False), sa.Column('updated_at', TZ, nullable=False))


def downgrade() -> None:
    for table in ('credit_deliveries', 'credit_draws', 'credit_checks', 'credit_grade_current',
                  'credit_grade_versions', 'credit_list_current', 'credit_list_versions', 'credit_feed_pulls'):
        op.drop_table(table)
