"""CreditSync: the gateway from district departments' systems to the municipal credit platform.

Where a record goes, by subpackage:
  sources/    pull      adapters that read a department's system incrementally
  mapping/    map       the declarative YAML mapping language
  schema/     validate  the municipal 双公示 schema (pydantic) and its code tables
  store/      store     the gateway database: records, versions, outbox, quarantine, cursors
  delivery/   push      the platform client and its retry policy
  sinks/      deliver   how the platform takes data: api, exchange_db (前置库), xml_envelope, template_file
  audit/      audit     the keyed hash-chained audit trail
  publication/          display periods, credit repair, expiry, hold-back rules, working days
  pipeline/   the steps (pull, push, report) shared by Airflow and the CLI; decide.py is the rule book
  orchestration/  the only subpackage that imports Airflow: the DAG factory and the console
"""

__version__ = "0.1.0"
