"""The peer of B2: what a hand-written pipeline does with the same source, in dlt.

REST pages → map the department's fields to the standard codes → validate with a plain pydantic model
(required fields, dates, money, the USCC check digit) → ``merge`` on the source id into PostgreSQL.
Revoked (撤销) and invalid records are dropped. Runs ONLY in ``benchmarks/.peer-venv`` (dlt is not a
project dependency); ``e2e_rest.py`` starts it and measures it from outside. Prints one JSON line:
rows loaded and distinct keys.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import psycopg2
import requests
from pydantic import BaseModel, ValidationError, field_validator

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PARTY = {"01": "自然人", "02": "法人及非法人组织", "04": "个体工商户"}


class Penalty(BaseModel):
    source_id: str
    CF_WSH: str
    CF_XDR_MC: str
    CF_XDR_LB: str
    CF_XDR_SHXYM: str | None = None
    CF_XDR_ZJHM: str | None = None
    CF_WFXW: str
    CF_SY: str
    CF_YJ: str
    CF_CFLB: str
    CF_NR: str
    CF_NR_FK: Decimal | None = None
    CF_JDRQ: date
    CF_YXQ: date
    CF_CFJG: str = "长清区市场监督管理局"

    @field_validator("CF_WSH", "CF_XDR_MC", "CF_WFXW", "CF_SY", "CF_YJ", "CF_NR")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty")
        return value.strip()

    @field_validator("CF_XDR_SHXYM")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        if value and value != "00000000000000000X":
            total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(value[:17], USCC_WEIGHTS, strict=True))
            if len(value) != 18 or value[17] != USCC_ALPHABET[(31 - total % 31) % 31]:
                raise ValueError("USCC check digit")
        return value


def mapped(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_id": item["id"], "CF_WSH": item["decision_no"], "CF_XDR_MC": item["party_name"],
        "CF_XDR_LB": PARTY[item["party_type"]], "CF_XDR_SHXYM": item["credit_code"],
        "CF_XDR_ZJHM": item["id_no"], "CF_WFXW": item["illegal_type"], "CF_SY": item["facts"],
        "CF_YJ": item["basis"], "CF_CFLB": ";".join(item["penalty_types"]), "CF_NR": item["content"],
        "CF_NR_FK": item["fine_yuan"] or None, "CF_JDRQ": item["decided_at"], "CF_YXQ": item["valid_until"],
    }


def penalties(url: str, token: str, page_size: int) -> Iterator[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    page = 1
    while True:
        body = session.get(f"{url}/api/v1/decisions", timeout=60,
                           params={"type": "penalty", "page": page, "page_size": page_size}).json()
        for item in body["items"]:
            if item.get("id") is None or item.get("status") == "撤销":
                continue
            try:
                yield Penalty.model_validate(mapped(item)).model_dump(mode="json")
            except (ValidationError, KeyError):
                continue
        if page >= body["total_pages"]:
            return
        page += 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--postgres", required=True, help="postgresql://user@host:port/db")
    args = parser.parse_args()
    resource = dlt.resource(penalties(args.url, args.token, args.page_size), name="penalty",
                            primary_key="source_id", write_disposition="merge")
    # dlt insists on a password; a trust-auth server ignores the one we give it.
    parts = urlsplit(args.postgres)
    if parts.password is None:
        parts = parts._replace(netloc=f"{parts.username}:unused@{parts.hostname}:{parts.port or 5432}")
    credentials = urlunsplit(parts)
    pipeline = dlt.pipeline("peer_penalties", destination=dlt.destinations.postgres(credentials),
                            dataset_name="peer")
    pipeline.run(resource)
    with psycopg2.connect(args.postgres) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT cf_wsh) FROM peer.penalty")
        rows, distinct = cursor.fetchone()
    print(json.dumps({"rows": rows, "distinct_keys": distinct}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
