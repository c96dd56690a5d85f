"""The store tables the read-only commands query (``quarantine list``, ``audit history``), as SQLAlchemy
Core tables: reading them needs neither the ORM nor the other models, which together cost about as much
CPU as the rest of such a command (benchmarks/RESULTS.md, CLI start-up). creditsync.store.models maps its
classes onto these same tables (``Record``, ``QuarantineItem``, ``AuditEntry``) and declares the rest of
the schema on the same ``metadata``; Alembic's migrations remain the schema's source of truth.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, MetaData, String, Table

metadata = MetaData()

records = Table(
    "records", metadata,
    Column("business_key", String(250), primary_key=True),
    Column("department", String(64), nullable=False, index=True),
    Column("category", String(32), nullable=False, index=True),
    Column("document_no", String(128), nullable=False, index=True),
    Column("subject_name", String(200), nullable=False),
    Column("source_key", String(200), index=True),  # trace by the department's id
    Column("decision_date", Date),
    Column("version", Integer, nullable=False, default=1),
    Column("mapped_hash", String(64), nullable=False),
    Column("state", String(24), nullable=False, default="pending", index=True),  # states.RecordState
    Column("platform_id", String(64)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("run_id", String(250)),  # the run that wrote the current version
    # Publication rules (creditsync.publication): severity and last display day of a penalty; why the
    # gateway took it off display (公示期满, 信用修复) and the repair decision's number; working days
    # from the decision (or the withdrawal's cause) to the platform's acknowledgement.
    Column("severity", String(8)),
    Column("display_until", Date, index=True),
    Column("withdraw_reason", String(32)),  # states.WithdrawCause
    Column("repair_decision_no", String(128)),
    Column("published_within_days", Integer),
    Column("withdrawn_within_days", Integer),
    Column("seal", String(64)),  # lifecycle.seal: HMAC over the row
    # a department's own record id → the record it currently names (a changed 文书号 keeps the id)
    Index("ix_records_source_link", "department", "category", "source_key"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250), nullable=False, index=True),
    Column("department", String(64), nullable=False, index=True),
    Column("category", String(32), nullable=False),
    Column("source_key", String(200)),
    Column("business_key", String(250)),
    Column("stage", String(16), nullable=False),  # states.QuarantineStage
    Column("errors", JSON, nullable=False),  # [{"field", "kind", "zh", "en"}] (older: "message")
    Column("raw_masked", JSON, nullable=False),
    Column("source_hash", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution", String(200)),
    Column("last_seen_at", DateTime(timezone=True)),  # read again, still bad
    Column("retried_at", DateTime(timezone=True)),  # re-driven
    Column("retry_outcome", String(32)),  # what the re-read found
    # re-reading a fixed record closes its open entries by source id, an unchanged bad one is known by
    # its content hash (pipeline.write)
    Index("ix_quarantine_source_key", "department", "category", "source_key"),
    Index("ix_quarantine_source_hash", "department", "category", "source_hash"),
    # the rows held as claiming a 文书号, and a record's platform refusals (lifecycle.claims, quality)
    Index("ix_quarantine_business_key", "department", "category", "business_key"),
)

# Append-only; each entry's hash covers its content and the previous entry's hash. Its two
# PostgreSQL-only expression indexes are declared with the model (creditsync.store.models): their
# options load SQLAlchemy's PostgreSQL dialect, which a read on SQLite does not need.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("ts", DateTime(timezone=True), nullable=False, index=True),
    Column("event", String(48), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("department", String(64)),
    Column("category", String(32)),
    Column("business_key", String(250), index=True),
    Column("run_id", String(250), index=True),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # "sha256" (unkeyed: development, and every entry before keys) or "hmac-sha256:<key id>"
    Column("scheme", String(40), nullable=False, default="sha256", server_default="sha256"),
    # history --department/--status --since
    Index("ix_audit_dept_ts", "department", "ts"),
    Index("ix_audit_event_ts", "event", "ts"),
)
