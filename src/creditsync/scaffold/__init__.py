"""``creditsync new-adapter``: a new department from nothing to a passing conformance test.

It writes the department's adapter YAML, a mapping per category, sample fixtures in the source's own
format, and a three-line test; the DAG ``sync__<name>`` appears without touching ``dags/``."""

from creditsync.scaffold.create import KINDS, Scaffold, new_department

__all__ = ["KINDS", "Scaffold", "new_department"]
