"""Tables of the credit loop (creditsync.credit): the platform's lists and grades as the gateway knew them,
the checks departments made against them, the spot-check draws, and what was delivered back.

Every version of a list entry or a grade is kept (``*_versions``, never updated); ``*_current`` only
names the newest version per entry or subject, so a check reads one indexed row per entry while a past
check can still be replayed from the versions known at its time. Subjects are stored by the keyed hash
of their USCC or ID number (privacy.keyed_hash) and shown masked: no full ID number is kept here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from creditsync.store.models import Base


class CreditFeedPull(Base):
    """One pull of a platform feed (``lists`` or ``grades``): the cursor it started from and reached."""

    __tablename__ = "credit_feed_pulls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed: Mapped[str] = mapped_column(String(16))
    since: Mapped[str | None] = mapped_column(String(64))
    cursor: Mapped[str | None] = mapped_column(String(64))
    received: Mapped[int] = mapped_column(default=0)
    first_version: Mapped[int | None] = mapped_column(Integer)
    last_version: Mapped[int | None] = mapped_column(Integer)
    pulled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    __table_args__ = (Index("ix_credit_feed_pulls_feed", "feed", "id"),)


class CreditListVersion(Base):
    """One event of a list entry as the platform sent it (placed, updated, repaired, removed)."""

    __tablename__ = "credit_list_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the list version
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    pull_id: Mapped[int | None] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # listed | repaired | removed
    list_type: Mapped[str] = mapped_column(String(16))  # dishonest | watch
    subject_key: Mapped[str] = mapped_column(String(64))
    subject_masked: Mapped[str] = mapped_column(String(64))
    subject_name: Mapped[str] = mapped_column(String(200))
    cause: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    decision_no: Mapped[str | None] = mapped_column(String(128))
    authority: Mapped[str | None] = mapped_column(String(200))
    authority_code: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    measures: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    repair_decision_no: Mapped[str | None] = mapped_column(String(128))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the platform's time
    known_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the gateway stored it
    __table_args__ = (Index("ix_credit_list_versions_subject", "subject_key", "known_at"),)


class CreditListCurrent(Base):
    """The newest version of each entry: what a check reads."""

    __tablename__ = "credit_list_current"
    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    version_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))


class CreditGradeVersion(Base):
    __tablename__ = "credit_grade_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_key: Mapped[str] = mapped_column(String(64))
    subject_masked: Mapped[str] = mapped_column(String(64))
    subject_name: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(4))
    graded_on: Mapped[date | None] = mapped_column(Date)
    pull_id: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    known_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_credit_grade_versions_subject", "subject_key", "known_at"),)


class CreditGradeCurrent(Base):
    __tablename__ = "credit_grade_current"
    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4))


class CreditCheck(Base):
    """One 信用核查 by a department system or a person: who, which matter, which subject, what it got."""

    __tablename__ = "credit_checks"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the check id given to the caller
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    matter: Mapped[str] = mapped_column(String(64))
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    subject_masked: Mapped[str] = mapped_column(String(64))
    listed: Mapped[bool] = mapped_column()
    grade: Mapped[str | None] = mapped_column(String(4))
    result: Mapped[dict[str, Any]] = mapped_column()
    audit_entry_id: Mapped[int | None] = mapped_column(Integer, index=True)  # null: not in the trail yet


class CreditDraw(Base):
    """A 双随机 draw: its seed committed (hash) before the register is read, published after."""

    __tablename__ = "credit_draws"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    plan: Mapped[dict[str, Any]] = mapped_column()
    plan_hash: Mapped[str] = mapped_column(String(64))
    seed_commitment: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64))  # null until published
    register_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # committed | published
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)


class CreditDelivery(Base):
    """How far each department's subscription got: the newest list and grade version it was sent."""

    __tablename__ = "credit_deliveries"
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    feed: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
