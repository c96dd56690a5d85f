"""The ``creditsync`` command line."""
