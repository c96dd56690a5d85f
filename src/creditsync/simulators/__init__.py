"""Simulators for local runs and tests: the municipal platform and demo department systems."""
