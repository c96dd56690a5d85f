"""typed cursors: each stored cursor says what it is

- ``cursors.kind`` and ``run_streams.cursor_kind``: ``instant`` (a moment in time, compared as a moment
  whatever its offset or precision), ``number`` (a row version) or ``text`` (creditsync.sources.cursor).
  Stored cursors are converted: digits are numbers, ISO-8601 dates and times (and the file source's
  ``<time>|<file name>``) instants, anything else text. The text itself is kept as it is.
- the cursor values widen to 255 characters: the file source's cursor carries a file name.

Revision ID: 0007_typed_cursors
Revises: 0006_lifecycle
"""
import re

import sqlalchemy as sa
from alembic import op

revision = '0007_typed_cursors'
down_revision = '0006_lifecycle'
branch_labels = None
depends_on = None

_NUMBER = re.compile(r"^[+-]?\d+$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)?$")


def kind_of(value: str | None) -> str | None:
    """The kind a cursor stored as text has (a copy of the rule at this revision, on purpose)."""
    if value is None:
        return None
    text = value.strip()
    if _NUMBER.match(text):
        return "number"
    if _INSTANT.match(text.partition("|")[0].strip()):
        return "instant"
    return "text"


def upgrade() -> None:
    with op.batch_alter_table('cursors') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=True))
        batch.alter_column('value', type_=sa.String(length=255), existing_type=sa.String(length=64))
    with op.batch_alter_table('run_streams') as batch:
        batch.add_column(sa.Column('cursor_kind', sa.String(length=16), nullable=True))
        batch.alter_column('cursor_from', type_=sa.String(length=255), existing_type=sa.String(length=64))
        batch.alter_column('cursor_to', type_=sa.String(length=255), existing_type=sa.String(length=64))
    connection = op.get_bind()
    cursors = sa.table('cursors', sa.column('department'), sa.column('category'), sa.column('value'),
                       sa.column('kind'))
    for department, category, value in connection.execute(
            sa.select(cursors.c.department, cursors.c.category, cursors.c.value)).all():
        connection.execute(cursors.update().where(cursors.c.department == department,
                                                  cursors.c.category == category)
                           .values(kind=kind_of(value)))
    streams = sa.table('run_streams', sa.column('run_id'), sa.column('category'), sa.column('cursor_from'),
                       sa.column('cursor_to'), sa.column('cursor_kind'))
    for run_id, category, cursor_from, cursor_to in connection.execute(
            sa.select(streams.c.run_id, streams.c.category, streams.c.cursor_from, streams.c.cursor_to)).all():
        connection.execute(streams.update().where(streams.c.run_id == run_id, streams.c.category == category)
                           .values(cursor_kind=kind_of(cursor_to or cursor_from)))


def downgrade() -> None:
    with op.batch_alter_table('run_streams') as batch:
        batch.drop_column('cursor_kind')
        batch.alter_column('cursor_from', type_=sa.String(length=64), existing_type=sa.String(length=255))
        batch.alter_column('cursor_to', type_=sa.String(length=64), existing_type=sa.String(length=255))
    with op.batch_alter_table('cursors') as batch:
        batch.drop_column('kind')
        batch.alter_column('value', type_=sa.String(length=64), existing_type=sa.String(length=255))
