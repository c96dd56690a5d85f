"""Tables of the gateway store.

A record's life: ``records`` (one row per business key, holding its publication state) +
``record_versions`` (every mapped version) → ``outbox`` (what must reach the platform, with its
idempotency key) → receipt on the outbox row. Bad ones land in ``quarantine``. ``cursors`` advance
only with a confirmed push. ``audit_log`` is the hash chain.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from creditsync.store import tables


class Base(DeclarativeBase):
    metadata = tables.metadata  # the tables the read-only commands query without the ORM are in it
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SyncRun(Base):
    __tablename__ = "sync_runs"
    id: Mapped[str] = mapped_column(String(250), primary_key=True)  # Airflow run id or cli-…
    department: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # airflow | cli
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RunStream(Base):
    """Per run and stream: the cursor the run may advance to once everything it pulled is delivered."""

    __tablename__ = "run_streams"
    run_id: Mapped[str] = mapped_column(ForeignKey("sync_runs.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor_from: Mapped[str | None] = mapped_column(String(255))
    cursor_to: Mapped[str | None] = mapped_column(String(255))
    cursor_kind: Mapped[str | None] = mapped_column(String(16))  # sources.cursor.CursorKind of both
    pulled: Mapped[bool] = mapped_column("transformed", default=False)  # read and stored to the end
    cursor_committed: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text)  # the source failed; its cursor stays
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # file rows that took a decision down in this run: [file, business key, row] (lifecycle.deliveries)
    taken_down: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)


class Record(Base):
    """One published (or to-be-published) decision, by business key, and its publication state
    (the columns: creditsync.store.tables.records)."""

    __table__ = tables.records
    business_key: Mapped[str]
    department: Mapped[str]
    category: Mapped[str]
    document_no: Mapped[str]
    subject_name: Mapped[str]
    source_key: Mapped[str | None]
    decision_date: Mapped[date | None]
    version: Mapped[int]
    mapped_hash: Mapped[str]
    state: Mapped[str]
    platform_id: Mapped[str | None]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    run_id: Mapped[str | None]
    severity: Mapped[str | None]
    display_until: Mapped[date | None]
    withdraw_reason: Mapped[str | None]
    repair_decision_no: Mapped[str | None]
    published_within_days: Mapped[int | None]
    withdrawn_within_days: Mapped[int | None]
    seal: Mapped[str | None]


class RecordVersion(Base):
    """Every mapped version of a record: what the department sent and what we made of it (masked)."""

    __tablename__ = "record_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(ForeignKey("records.business_key"), index=True)
    version: Mapped[int] = mapped_column()
    run_id: Mapped[str] = mapped_column(String(250))
    source_key: Mapped[str | None] = mapped_column(String(200))
    source_hash: Mapped[str] = mapped_column(String(64))
    mapped_hash: Mapped[str] = mapped_column(String(64))
    mapping_digest: Mapped[str | None] = mapped_column(String(64))
    adapter: Mapped[str] = mapped_column(String(64))
    payload_masked: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the versions_stored entry whose Merkle root binds this version, and the row's seal
    audit_entry_id: Mapped[int | None] = mapped_column(Integer, index=True)
    seal: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("business_key", "version"),)


class OutboxItem(Base):
    """One push owed to the platform. Its payload is sealed (encrypted, bound to the item's identity:
    lifecycle.seal), the only place a full ID number is kept, and only until the platform answers."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    business_key: Mapped[str] = mapped_column(String(250), index=True)
    department: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # upsert | withdraw
    version: Mapped[int] = mapped_column()
    sealed: Mapped[str | None] = mapped_column(Text)
    # plain JSON payloads of items written before payloads were sealed (db-upgrade seals them)
    legacy_payload: Mapped[dict[str, Any] | None] = mapped_column("payload", nullable=True)
    run_id: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # states.OutboxStatus
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_id: Mapped[str | None] = mapped_column(String(64))
    platform_errors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_entry_id: Mapped[int | None] = mapped_column(Integer, index=True)  # receipts_stored entry
    __table_args__ = (Index("ix_outbox_pending", "department", "status", "id"),
                      Index("ix_outbox_run", "run_id", "status"))


class QuarantineItem(Base):
    """A record that could not be published, with every reason (ours and the platform's; the columns:
    creditsync.store.tables.quarantine)."""

    __table__ = tables.quarantine
    id: Mapped[int]
    run_id: Mapped[str]
    department: Mapped[str]
    category: Mapped[str]
    source_key: Mapped[str | None]
    business_key: Mapped[str | None]
    stage: Mapped[str]
    errors: Mapped[list[Any]]
    raw_masked: Mapped[dict[str, Any]]
    source_hash: Mapped[str | None]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None]
    last_seen_at: Mapped[datetime | None]
    retried_at: Mapped[datetime | None]
    retry_outcome: Mapped[str | None]


class Cursor(Base):
    __tablename__ = "cursors"
    department: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str | None] = mapped_column(String(16))  # sources.cursor.CursorKind: instant, number, text
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[str | None] = mapped_column(String(250))
    seal: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(Base):
    """Append-only; each entry's hash covers its content and the previous entry's hash (the columns:
    creditsync.store.tables.audit_log)."""

    __table__ = tables.audit_log
    id: Mapped[int]
    ts: Mapped[datetime]
    event: Mapped[str]
    actor: Mapped[str]
    department: Mapped[str | None]
    category: Mapped[str | None]
    business_key: Mapped[str | None]
    run_id: Mapped[str | None]
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str]
    hash: Mapped[str]
    scheme: Mapped[str]


# trace of a quarantined record by its source id or 文书号 (PostgreSQL only). Declared here rather than in
# creditsync.store.tables: their options load the PostgreSQL dialect, which reading on SQLite does not need.
Table("audit_log", Base.metadata,
      Index("ix_audit_quarantined_source_key", text("(details ->> 'source_key')"),
            postgresql_where=text("event = 'record_quarantined'")).ddl_if(dialect="postgresql"),
      Index("ix_audit_quarantined_document_no", text("(details ->> 'document_no')"),
            postgresql_where=text("event = 'record_quarantined'")).ddl_if(dialect="postgresql"),
      Index("ix_audit_relinked_from", text("(details ->> 'from_source_key')"),  # audit trace OLD_ID
            postgresql_where=text("event = 'source_relinked'")).ddl_if(dialect="postgresql"),
      extend_existing=True)


class AuditHead(Base):
    """A single row naming the chain's last entry; locked while appending so the chain stays linear."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """Where the trail starts after a retention prune: one row per prune, naming the last entry it
    archived (id and hash) and the archive file's sha256, so ``audit verify`` checks the rest of the
    chain from there and an auditor can check the archive against it (creditsync.audit.retention)."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    first_id: Mapped[int] = mapped_column()
    last_id: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))  # the hash the first archived entry follows
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column()
    archive_name: Mapped[str] = mapped_column(String(255))
    archive_sha256: Mapped[str] = mapped_column(String(64))
    keep_days: Mapped[int] = mapped_column()
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QualityAlert(Base):
    """A record alerted as not acknowledged by working day 5 of its 7 (creditsync.quality.alerts): once."""

    __tablename__ = "quality_alerts"
    business_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    department: Mapped[str] = mapped_column(String(64))
    document_no: Mapped[str] = mapped_column(String(128))
    decision_date: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    working_days: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # email | log
    alerted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_quality_alerts_department", "department", "alerted_at"),)
# The credit loop's tables live in their own module; importing it here puts them in Base.metadata.
from creditsync.store import credit_models as _credit_models  # noqa: E402, F401
