"""Field lists and rules of each category, kept as YAML data (see category.py)."""
