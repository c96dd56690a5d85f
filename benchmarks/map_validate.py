"""B1: mapping + validation of penalty records, against the floor of plain pydantic in the same run.

    .venv/bin/python benchmarks/map_validate.py [--records N] [--runs R] [--chunk C]

Records are the market-supervision department's penalties (``simulators/departments``, fixed seed),
mapped with ``mappings/market_supervision/penalty.yaml``, as JSON text like a REST source serves them.
Measured per record, in CPU time of this process (``time.process_time``: the machine is shared, and
CPU time is what other processes disturb least), each the median of R runs, interleaved so that a
busy moment hits every measure alike:

- **floor**: ``json.loads`` of the record's canonical JSON plus ``model_validate`` of a plain pydantic
  model with the same fields and types (str/date/Decimal, required or optional, length limits) and no
  custom validators: what any JSON → pydantic pipeline pays at least;
- **mapping**: ``MappingSpec.apply`` of the parsed department record;
- **validation**: ``validate_record`` of the mapped record;
- **whole**: what the pipeline does per record: ``json.loads`` of the department's JSON,
  ``Translator.translate``, and for a valid record ``to_payload()``, ``business_key()`` and
  ``masked_payload()``.

The target (issue B1) is whole at no more than twice the floor: ``floor / whole`` ≥ 0.5. Records are
made and measured in chunks, so memory stays flat at any N.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from creditsync.mapping import MappingSpec, load_mapping
from creditsync.pipeline.translate import Translator
from creditsync.schema import get_category, validate_record
from creditsync.simulators.departments.market_supervision_data import generate

TITLE = "B1: mapping + validation of penalty records against the plain-pydantic floor"
BENCH_ARGS = ["--records", "100000", "--runs", "5"]
QUICK_ARGS = ["--records", "400", "--runs", "2", "--chunk", "200"]

MAPPING = Path(__file__).resolve().parent.parent / "mappings" / "market_supervision" / "penalty.yaml"
TODAY = date(2026, 6, 1)
MEASURES = ("floor", "mapping", "validation", "whole")


def floor_model(category: str = "penalty") -> type[BaseModel]:
    """A plain pydantic model of the category: same fields, types, requiredness and length limits."""
    fields: dict[str, Any] = {}
    for spec in get_category(category).fields:
        limits: dict[str, Any] = {}
        if spec.python_type is str:
            limits = {"max_length": spec.max_length, "min_length": spec.min_length}
        limits = {key: value for key, value in limits.items() if value is not None}
        if spec.requirement == "required":
            fields[spec.name] = (spec.python_type, Field(..., alias=spec.code, **limits))
        else:
            fields[spec.name] = (spec.python_type | None, Field(None, alias=spec.code, **limits))
    config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)
    return create_model("FloorPenalty", __config__=config, **fields)


class Chunk:
    """One chunk of records in every form a measure starts from."""

    def __init__(self, index: int, size: int, mapping: MappingSpec, translator: Translator) -> None:
        raws = generate("penalty", random.Random(1000 + index), size, TODAY)
        self.texts = [json.dumps(raw, ensure_ascii=False) for raw in raws]
        self.raws = [json.loads(text) for text in self.texts]
        self.mapped = [mapping.apply(raw).data for raw in self.raws]
        records = [translator.translate(raw).record for raw in self.raws]
        self.canonical = [json.dumps(r.to_payload(), ensure_ascii=False) for r in records if r is not None]
        self.valid = len(self.canonical)


def per_record(func: Callable[[], int]) -> tuple[float, int]:
    started = time.process_time()
    count = func()
    return time.process_time() - started, count


def measures(chunk: Chunk, mapping: MappingSpec, translator: Translator,
             floor: type[BaseModel]) -> dict[str, Callable[[], int]]:
    def run_floor() -> int:
        for text in chunk.canonical:
            floor.model_validate(json.loads(text))
        return len(chunk.canonical)

    def run_mapping() -> int:
        for raw in chunk.raws:
            mapping.apply(raw)
        return len(chunk.raws)

    def run_validation() -> int:
        for data in chunk.mapped:
            validate_record("penalty", data, today=TODAY)
        return len(chunk.mapped)

    def run_whole() -> int:
        for text in chunk.texts:
            record = translator.translate(json.loads(text)).record
            if record is not None:
                record.to_payload()
                record.business_key()
                record.masked_payload()
        return len(chunk.texts)

    return {"floor": run_floor, "mapping": run_mapping, "validation": run_validation, "whole": run_whole}


def chunk_sizes(records: int, chunk: int) -> Iterable[int]:
    while records > 0:
        yield min(chunk, records)
        records -= chunk


def collect(argv: list[str]) -> list[dict[str, Any]]:
    args = parse(argv)
    mapping = load_mapping(MAPPING)
    translator = Translator("penalty", mapping, "rest")
    floor = floor_model()
    seconds = {name: [0.0] * args.runs for name in MEASURES}
    counts = dict.fromkeys(MEASURES, 0)
    valid = 0
    for index, size in enumerate(chunk_sizes(args.records, args.chunk)):
        chunk = Chunk(index, size, mapping, translator)
        valid += chunk.valid
        runs = measures(chunk, mapping, translator, floor)
        for name in MEASURES:  # warm-up: first-use costs (plans, caches) are not per-record costs
            runs[name]()
        for run in range(args.runs):
            for name in MEASURES:
                spent, count = per_record(runs[name])
                seconds[name][run] += spent
                counts[name] += count if run == 0 else 0
    return rows(seconds, counts, valid, args)


def rows(seconds: dict[str, list[float]], counts: dict[str, int], valid: int,
         args: argparse.Namespace) -> list[dict[str, Any]]:
    micros = {name: [s / counts[name] * 1e6 for s in seconds[name]] for name in MEASURES}
    median = {name: statistics.median(values) for name, values in micros.items()}
    table = []
    for name in MEASURES:
        table.append({
            "measure": name,
            "records": counts[name],
            "µs/record (median)": f"{median[name]:.1f}",
            "min–max": f"{min(micros[name]):.1f}–{max(micros[name]):.1f}",
            "records/s": f"{1e6 / median[name]:,.0f}",
            "floor ÷ measure": f"{median['floor'] / median[name]:.2f}",
        })
    table.append({
        "measure": f"whole vs floor (target ≥ 0.50; {valid:,} of {args.records:,} records valid)",
        "records": args.records, "µs/record (median)": "", "min–max": "", "records/s": "",
        "floor ÷ measure": f"{median['floor'] / median['whole']:.2f}",
    })
    return table


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per measure; medians are reported")
    parser.add_argument("--chunk", type=int, default=5_000, help="records made and measured at once")
    return parser.parse_args(argv)


def main() -> int:
    table = collect(sys.argv[1:])
    columns = list(table[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in table:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
