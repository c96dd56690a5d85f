"""Seeding of 长清区住房和城乡建设局's own MySQL/MariaDB database (department ``housing_construction``).

The department's approval and case systems keep their data in MariaDB, the way old systems do: GBK
and utf8mb3 tables, a latin1 column holding GBK bytes, local DATETIMEs, zero dates, TINYINT(1) flags,
DECIMAL money and a view joining two tables (:mod:`.housing_construction_data` documents the rows).
The gateway reads it through a read-only account; this module plays the department's DBA::

    python -m creditsync.simulators.departments.housing_construction \\
        --server mysql+pymysql://root@127.0.0.1:3306 --database creditsync_demo_zjj

    db = create_database("mysql+pymysql://root@127.0.0.1:3306", "zjj_test", seed=7)
    db.update_penalty("ZJCF-0003", ajzt="已撤销")   # moves gxsj forward, as the case system does
    db.drop()
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from creditsync.simulators.departments import housing_construction_data as data

DEPARTMENT = "housing_construction"
READER = "creditsync_reader"

_TABLES = (
    """CREATE TABLE dwxx (
        dwid INT PRIMARY KEY, dwmc VARCHAR(200), dwlx CHAR(2), tyshxydm CHAR(18),
        fddbr VARCHAR(50), fddbr_zjlx VARCHAR(16), fddbr_zjhm VARCHAR(18)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='单位信息'""",
    """CREATE TABLE sgxk (
        id INT AUTO_INCREMENT PRIMARY KEY, xkzbh VARCHAR(40) NOT NULL UNIQUE, pzwh VARCHAR(40),
        dwid INT, xmmc VARCHAR(200), jsdz VARCHAR(200), htjg DECIMAL(16,2), xknr VARCHAR(500),
        fzrq DATE, yxqz DATE, sfyx TINYINT(1) NOT NULL DEFAULT 1, gxsj DATETIME,
        KEY idx_gxsj (gxsj, xkzbh)
    ) ENGINE=InnoDB DEFAULT CHARSET=gbk COMMENT='建筑工程施工许可'""",
    """CREATE TABLE xzcf (
        id INT AUTO_INCREMENT PRIMARY KEY, ajbh VARCHAR(32) NOT NULL UNIQUE, cfjdswh VARCHAR(64),
        dwid INT, dsrmc_old VARCHAR(200) CHARACTER SET latin1, wfxw VARCHAR(200), wfss TEXT,
        cfyj VARCHAR(500), cfzl VARCHAR(100), cfnr VARCHAR(500), fkje DECIMAL(14,2), cfrq DATE,
        cfyxq DATE, ajzt VARCHAR(16), bz VARCHAR(200) CHARACTER SET utf8mb4, gxsj DATETIME,
        KEY idx_gxsj (gxsj, ajbh)
    ) ENGINE=InnoDB DEFAULT CHARSET=gbk COMMENT='行政处罚'""",
    """CREATE VIEW v_xzcf AS
        SELECT c.ajbh, c.cfjdswh, c.dsrmc_old, d.dwlx, d.tyshxydm, d.fddbr, d.fddbr_zjlx, d.fddbr_zjhm,
               c.wfxw, c.wfss, c.cfyj, c.cfzl, c.cfnr, c.fkje, c.cfrq, c.cfyxq, c.ajzt, c.bz, c.gxsj
        FROM xzcf c JOIN dwxx d ON d.dwid = c.dwid""",
)


class SourceDatabase:
    """The department's database on a MySQL/MariaDB server, with the edits its staff make."""

    def __init__(self, server: str, database: str) -> None:
        self.server, self.database = sa.make_url(server), database
        self.url = self.server.set(database=database).update_query_dict({"charset": "utf8mb4"})
        self.engine = _writer(self.url)
        self.readers: list[str] = []

    def fill(self, seed: int, penalties: int, licences: int, today: date) -> None:
        rows = data.generate(seed, penalties, licences, today)
        with self.engine.begin() as conn:
            for statement in _TABLES:
                conn.exec_driver_sql(statement)
            for table, table_rows in rows.items():
                conn.execute(sa.table(table, *(sa.column(c) for c in table_rows[0])).insert(), table_rows)

    def connection_json(self, login: str = "root", password: str | None = None) -> str:
        """The Airflow Connection (JSON form) the gateway would be given for this database."""
        return json.dumps({"conn_type": "mysql", "host": self.url.host, "port": self.url.port or 3306,
                           "login": login, "password": password, "schema": self.database})

    def grant_reader(self, password: str, user: str = READER) -> str:
        """The account a DBA hands the gateway: SELECT on this database, nothing else (replaced if it
        exists, dropped with the database)."""
        # Every statement naming the account passes parameters, so the driver always turns %% into the
        # host wildcard %: one without parameters kept %% and named another account, which outlived drop().
        with self.engine.begin() as conn:
            conn.exec_driver_sql("CREATE OR REPLACE USER %s@'%%' IDENTIFIED BY %s", (user, password))
            conn.exec_driver_sql(f"GRANT SELECT, SHOW VIEW ON `{self.database}`.* TO %s@'%%'", (user,))
        self.readers.append(user)
        return user

    def rows(self, table: str, order: str = "id") -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")
            return [dict(row) for row in result.mappings()]

    def update_penalty(self, ajbh: str, **fields: Any) -> datetime:
        return self._update("xzcf", "ajbh", ajbh, fields)

    def update_licence(self, xkzbh: str, **fields: Any) -> datetime:
        return self._update("sgxk", "xkzbh", xkzbh, fields)

    def _update(self, table: str, key: str, value: str, fields: dict[str, Any]) -> datetime:
        """A correction: ``gxsj`` moves to now (local time, whole seconds, as the system writes it)."""
        stamp = fields.pop("gxsj", None) or data.local_now().replace(microsecond=0)
        target = sa.table(table, sa.column(key), sa.column("gxsj"), *(sa.column(f) for f in fields))
        with self.engine.begin() as conn:
            done = conn.execute(target.update().where(target.c[key] == value).values(**fields, gxsj=stamp))
        if done.rowcount != 1:
            raise KeyError(value)
        return stamp

    def dispose(self) -> None:
        self.engine.dispose()

    def drop(self) -> None:
        self.engine.dispose()
        drop_database(self.server, self.database, self.readers)


def create_database(server: str, database: str, seed: int = 7, *, penalties: int = 30, licences: int = 20,
                    today: date | None = None) -> SourceDatabase:
    """(Re)create ``database`` on the server (a SQLAlchemy URL of an account that may create it) and
    fill it from ``seed``."""
    url = sa.make_url(server)
    drop_database(url, database)
    admin = _writer(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{database}` CHARACTER SET gbk")
    admin.dispose()
    source = SourceDatabase(server, database)
    source.fill(seed, penalties, licences, today or data.local_now().date())
    return source


def drop_database(server: str | URL, database: str, readers: Sequence[str] = ()) -> None:
    """The database and the reader accounts handed out for it, gone (those that exist)."""
    admin = _writer(sa.make_url(server))
    with admin.begin() as conn:
        for user in readers:
            conn.exec_driver_sql("DROP USER IF EXISTS %s@'%%'", (user,))
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{database}`")
    admin.dispose()


def _writer(url: URL) -> Engine:
    """The staff's sessions: zero dates allowed, as in the legacy system's sql_mode."""
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _legacy_mode(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
        cursor.close()

    return engine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--database", default="creditsync_demo_zjj")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drop", action="store_true",
                        help="drop the database and its reader account instead (make clean)")
    parser.add_argument("--reader", default=READER, help="the reader account --drop removes")
    args = parser.parse_args(argv)
    if args.drop:
        drop_database(args.server, args.database, [args.reader])
        return
    source = create_database(args.server, args.database, args.seed)
    print(source.connection_json())
    source.dispose()


if __name__ == "__main__":
    main()
