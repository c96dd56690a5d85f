"""``creditsync new-adapter``: a new department from nothing to a passing conformance test.

It writes the department's adapter YAML, a mapping per category, sample fixtures in the source's own
format, and a three-line test; the DAG ``sync__<name>`` appears without touching ``dags/``. The
mappings hold :data:`PLACEHOLDER_USCC` where the department's own USCC goes: its test fails, naming
the field, until a person replaces it."""

from creditsync.scaffold.create import KINDS, PLACEHOLDER_USCC, Scaffold, new_department

__all__ = ["KINDS", "PLACEHOLDER_USCC", "Scaffold", "new_department"]
