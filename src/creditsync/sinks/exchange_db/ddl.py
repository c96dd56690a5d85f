"""The exchange tables as DDL for each dialect the platforms run (MySQL/MariaDB, PostgreSQL, Oracle,
达梦). 达梦 (DM8) speaks Oracle's DDL for these types (VARCHAR2, CLOB); its SQLAlchemy dialect
(``dm+dmPython``, from the vendor's package) is installed only where the gateway meets one."""

from __future__ import annotations

from sqlalchemy.dialects import mysql, oracle, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from creditsync.exceptions import ConfigurationError
from creditsync.sinks.exchange_db.layout import Layout, build_tables

DIALECTS: dict[str, Dialect] = {"mysql": mysql.dialect(), "mariadb": mysql.dialect(),
                                "postgresql": postgresql.dialect(), "oracle": oracle.dialect(),
                                "dameng": oracle.dialect()}


def ddl(layout: Layout, categories: list[str], dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ConfigurationError(f"unknown dialect {dialect!r}: one of {', '.join(DIALECTS)}")
    target = DIALECTS[dialect]
    statements: list[str] = []
    for table in build_tables(layout, categories).values():
        statements.append(str(CreateTable(table).compile(dialect=target)).strip() + ";")
        statements += [str(CreateIndex(index).compile(dialect=target)).strip() + ";"
                       for index in sorted(table.indexes, key=lambda i: str(i.name))]
    return "\n\n".join(statements)
