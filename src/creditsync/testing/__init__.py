"""Test support shipped with CreditSync: the department conformance suite and sample sources."""

from creditsync.testing.conformance import DepartmentConformance, Harness
from creditsync.testing.samples import LiveSource, sample_source

__all__ = ["DepartmentConformance", "Harness", "LiveSource", "sample_source"]
