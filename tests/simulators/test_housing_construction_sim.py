"""The housing department's MariaDB database (make demo seeds one): ``--drop``, what ``make clean``
runs, leaves neither the database nor the reader account handed to the gateway."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from creditsync.simulators.departments.housing_construction import create_database, main
from creditsync.testing.sql_conformance import mariadb_server

pytestmark = pytest.mark.integration


def _found(server: str, database: str, user: str) -> tuple[bool, bool]:
    engine = sa.create_engine(server)
    try:
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                                          (database,)).first()
            account = conn.exec_driver_sql("SELECT 1 FROM mysql.user WHERE user = %s", (user,)).first()
    finally:
        engine.dispose()
    return schema is not None, account is not None


def test_drop_removes_the_database_and_its_reader_account() -> None:
    server = mariadb_server()
    database, reader = f"cs_drop_{uuid.uuid4().hex[:8]}", f"cs_rd_{uuid.uuid4().hex[:8]}"
    source = create_database(server, database, seed=7, penalties=2, licences=2)
    source.grant_reader("a-password", user=reader)
    source.dispose()
    assert _found(server, database, reader) == (True, True)

    main(["--server", server, "--database", database, "--reader", reader, "--drop"])
    assert _found(server, database, reader) == (False, False)
