"""``creditsync schema CATEGORY``: a category's standard fields, from the category files
(src/creditsync/schema/categories). ``--format markdown`` without a category writes docs/schema.md."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from creditsync.cli.output import EXIT_USAGE, console, errors, print_json

if TYPE_CHECKING:  # the schema loads its category files when imported: only inside the command
    from creditsync.schema import CategorySpec, FieldDefinition

app = typer.Typer()
REGENERATE = "creditsync schema --format markdown > docs/schema.md"


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("schema")
def schema_cmd(
    category: str = typer.Argument(None, help="penalty, license, … (all of them with --format markdown)"),
    output: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Print a category's fields: code, name, whether required, type."""
    from creditsync.schema import CATEGORIES, get_category

    if category is None and output is not Format.markdown:
        errors.print(f"give a category: {', '.join(CATEGORIES)}")
        raise typer.Exit(EXIT_USAGE)
    if category is not None and category not in CATEGORIES:
        errors.print(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
        raise typer.Exit(EXIT_USAGE)
    if output is Format.markdown:
        specs = [get_category(category)] if category else list(CATEGORIES.values())
        typer.echo(schema_markdown(specs), nl=False)
    elif output is Format.json:
        print_json(describe(get_category(category)))
    else:
        _table(get_category(category))


def describe(spec: CategorySpec) -> dict[str, Any]:
    return {"category": spec.name, "name": spec.title_zh, "name_en": spec.title_en,
            "fields": [describe_field(f) for f in spec.fields]}


def describe_field(spec: FieldDefinition) -> dict[str, Any]:
    return {"code": spec.code, "name": spec.title, "name_en": spec.title_en,
            "required": spec.requirement == "required", "requirement": spec.requirement,
            "type": field_type(spec)}


def field_type(spec: FieldDefinition) -> str:
    """The reference's notation: ``C(n)`` for text of at most n characters, the code table by name."""
    if spec.kind in ("text", "document_no"):
        return f"C({spec.max_length})" if spec.max_length else "text"
    if spec.kind in ("code", "codes"):
        return f"{spec.kind}: {spec.table}"
    if spec.kind == "id_number" and spec.max_length:
        return f"id_number C({spec.max_length})"
    return spec.kind


def schema_markdown(specs: list[CategorySpec] | None = None) -> str:
    """docs/schema.md: every category's fields, generated from the category files."""
    from creditsync.schema import CATEGORIES

    specs = specs if specs is not None else list(CATEGORIES.values())
    lines = ["# Fields of each category (generated)", "",
             "Generated from `src/creditsync/schema/categories/*.yaml`; do not edit by hand. Regenerate with",
             f"`{REGENERATE}` (a test fails when this page and the files differ).",
             "Requirements: required 必填, conditional 条件必填 (docs/categories.md says when), "
             "optional 选填.", ""]
    for spec in specs:
        lines += [f"## `{spec.name}` {spec.title_zh} ({spec.title_en})", "",
                  "| code | 名称 | name | requirement | type |", "|---|---|---|---|---|"]
        lines += [f"| `{f.code}` | {f.title} | {f.title_en} | {f.requirement} | {field_type(f)} |"
                  for f in spec.fields]
        lines.append("")
    return "\n".join(lines)


def _table(spec: CategorySpec) -> None:
    table = Table("code", "名称", "required", "type", title=f"{spec.name} {spec.title_zh}")
    for f in spec.fields:
        table.add_row(f.code, f.title, "yes" if f.requirement == "required" else f.requirement, field_type(f))
    console.print(table)
