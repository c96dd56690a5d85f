"""YAML read safely, with libyaml's parser where PyYAML was built with it (about ten times faster than
the pure-Python one): every process reads the schema, code tables, department files and mappings at
start-up (the DAG file parses every department file: the pure-Python loader took ~20 ms a file, more
than half the parse time with 100 departments), and the CLI's listings read some of them again."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_safe(text: str) -> Any:
    """``yaml.safe_load`` through :data:`SAFE_LOADER`; raises ``yaml.YAMLError`` as it does."""
    return yaml.load(text, Loader=SAFE_LOADER)
