"""CreditSync: the gateway from district departments' systems to the municipal credit platform.

Where a record goes, by subpackage:
  sources/    pull      adapters that read a department's system incrementally
  mapping/    map       the declarative YAML mapping language
  schema/     validate  the municipal 双公示 schema (pydantic) and its code tables
  store/      store     the gateway database: staging, outbox, quarantine, cursors, records
  delivery/   push      the platform client, retry policy and outbox pusher
  audit/      audit     the hash-chained audit trail
  pipeline/   the four steps (extract, transform, push, report) shared by Airflow and the CLI
  orchestration/  the only subpackage that imports Airflow: the DAG factory
"""

__version__ = "0.1.0"
