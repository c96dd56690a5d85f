"""Mappings shipped with CreditSync (package data), loaded with ``creditsync.mapping.load_preset``."""
