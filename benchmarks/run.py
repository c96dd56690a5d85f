"""``make bench``: run the benchmark scripts in benchmarks/ and record their figures in RESULTS.md.

    .venv/bin/python benchmarks/run.py [--only NAME ...] [--args NAME=ARGS ...] [--quick] [--results FILE]

Every ``benchmarks/*.py`` except this file and ``_helpers.py`` is a benchmark, run in its own process (its
memory figures are its own, and one that crashes does not stop the others):

- a script that defines ``collect(argv: list[str]) -> list[dict]`` is structured: its rows become a
  Markdown table. Optional module constants: ``TITLE``, ``BENCH_ARGS`` (what ``make bench`` passes),
  ``QUICK_ARGS`` (a smoke run, ``--quick``);
- any other script is run as ``python NAME.py ARGS`` and what it prints (Markdown) is recorded as is.

Each benchmark owns one section of RESULTS.md, between ``<!-- bench:NAME -->`` markers: running one
benchmark replaces its section and leaves the others. A section names the machine (CPUs, RAM, Python),
the date and the arguments. ``--quick`` writes nothing unless ``--results`` is given.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
ROWS_MARK = "BENCH-ROWS "
HEADER = ("# Benchmark results\n\nWritten by `benchmarks/run.py` (`make bench`); real figures from the "
          "machine named in each section. See benchmarks/README.md.\n")


@dataclass
class Benchmark:
    name: str
    path: Path
    structured: bool
    title: str
    bench_args: list[str] = field(default_factory=list)
    quick_args: list[str] | None = None


def discover(folder: Path = HERE) -> list[Benchmark]:
    """Every ``*.py`` but this file and ``_helpers.py``, by name."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_") or path.resolve() == Path(__file__).resolve():
            continue
        found.append(describe(path))
    return found


def describe(path: Path) -> Benchmark:
    """Read the script's contract without importing it (imports may be heavy or need a database)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    structured = any(isinstance(n, ast.FunctionDef) and n.name == "collect" for n in tree.body)
    doc = (ast.get_docstring(tree) or path.stem).strip().splitlines()[0]
    return Benchmark(path.stem, path, structured, str(constants.get("TITLE", doc)),
                     list(constants.get("BENCH_ARGS", [])), constants.get("QUICK_ARGS"))


def run(benchmark: Benchmark, args: list[str]) -> str:
    """The benchmark's Markdown (a table, or what the script printed)."""
    if benchmark.structured:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(benchmark.path), "--", *args]
    else:
        command = [sys.executable, str(benchmark.path), *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{benchmark.name} exited {done.returncode}")
    if not benchmark.structured:
        return done.stdout.strip()
    lines = [line for line in done.stdout.splitlines() if line.startswith(ROWS_MARK)]
    return markdown_table(json.loads(lines[-1][len(ROWS_MARK):]))


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines)


def machine() -> str:
    ram = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists() and (found := re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())):
        ram = f"{int(found.group(1)) / 1024**2:.1f} GiB"
    return (f"{os.cpu_count()} CPUs (nproc), {ram} RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}")


def section(benchmark: Benchmark, args: list[str], body: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = " ".join(shlex.quote(a) for a in args) or "(defaults)"
    return (f"<!-- bench:{benchmark.name} -->\n## {benchmark.title}\n\n`benchmarks/{benchmark.path.name}` "
            f"{shown}\n\nMachine: {machine()}; run {stamp}.\n\n{body}\n<!-- /bench:{benchmark.name} -->")


def update_results(path: Path, sections: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    for name, content in sections.items():
        pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m, c=content: c, text)  # type: ignore[misc]
        else:
            text = text.rstrip("\n") + "\n\n" + content + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def child(path: Path, argv: list[str]) -> int:
    """Inside the benchmark's own process: import it, collect its rows, hand them to the parent."""
    sys.path.insert(0, str(path.parent))  # its helpers (``_*.py``) sit next to it
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    rows = module.collect(argv)
    print(ROWS_MARK + json.dumps(rows, ensure_ascii=False, default=str), flush=True)
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="benchmark name (repeatable)")
    parser.add_argument("--args", action="append", default=[], metavar="NAME=ARGS",
                        help='arguments for one benchmark, e.g. audit_scale="--entries 10000000"')
    parser.add_argument("--quick", action="store_true", help="smoke run with each script's QUICK_ARGS")
    parser.add_argument("--results", type=Path, default=None, help=f"default {RESULTS.name} (not in --quick)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("--dir", type=Path, default=HERE, help="where the benchmark scripts are")
    return parser.parse_args(argv)


def arguments(benchmark: Benchmark, options: argparse.Namespace) -> list[str] | None:
    """None: skip it (a quick run of a script that declares no QUICK_ARGS)."""
    given = dict(item.split("=", 1) for item in options.args)
    if benchmark.name in given:
        return shlex.split(given[benchmark.name])
    if options.quick:
        return list(benchmark.quick_args) if benchmark.quick_args is not None else None
    return benchmark.bench_args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(Path(argv[1]), argv[3:])
    options = parse(argv)
    benchmarks = [b for b in discover(options.dir) if not options.only or b.name in options.only]
    if options.list:
        for b in benchmarks:
            print(f"{b.name}: {b.title} ({'rows' if b.structured else 'printed'}; args {b.bench_args})")
        return 0
    sections, failed = {}, []
    for benchmark in benchmarks:
        args = arguments(benchmark, options)
        if args is None:
            print(f"skipped {benchmark.name}: no QUICK_ARGS", file=sys.stderr)
            continue
        print(f"running {benchmark.name} {' '.join(args)}", file=sys.stderr, flush=True)
        try:
            sections[benchmark.name] = section(benchmark, args, run(benchmark, args))
        except (RuntimeError, OSError, ValueError, IndexError) as exc:
            failed.append(f"{benchmark.name}: {exc}")
    for content in sections.values():
        print(content + "\n")
    target = options.results or (None if options.quick else RESULTS)
    if target and sections:
        update_results(target, sections)
        print(f"updated {target}", file=sys.stderr)
    for problem in failed:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
