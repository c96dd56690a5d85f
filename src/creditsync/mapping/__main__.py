"""``python -m creditsync.mapping``: write the JSON Schema, or check mapping files, without a script.

python -m creditsync.mapping schema [OUT.json]     # stdout when OUT is omitted
python -m creditsync.mapping check FILE.yaml ...   # exit 1 when any file is invalid
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import load_mapping, mapping_json_schema, write_json_schema


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":
        return _schema(args.out)
    return _check(args.files)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m creditsync.mapping", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="write the mapping JSON Schema")
    schema.add_argument("out", nargs="?", help="output file (default: stdout)")
    check = commands.add_parser("check", help="validate mapping files")
    check.add_argument("files", nargs="+")
    return parser


def _schema(out: str | None) -> int:
    if out is None:
        print(json.dumps(mapping_json_schema(), ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(f"wrote {write_json_schema(out)}")
    return 0


def _check(files: Sequence[str]) -> int:
    failed = 0
    for name in files:
        try:
            spec = load_mapping(name)
        except ConfigurationError as exc:
            failed += 1
            print(f"FAIL {exc}", file=sys.stderr)
            continue
        print(f"ok   {name}: {spec.category}, {len(spec.fields)} fields, sha256 {spec.digest[:12]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
