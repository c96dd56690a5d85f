"""Simulator of 长清区应急管理局's own database (department ``emergency_management``).

The department keeps its cases in a relational database that the gateway reads directly (``kind:
sql``). The simulator creates that database (SQLite file, or any SQLAlchemy URL such as a test
PostgreSQL database), fills it deterministically from a seed, then keeps changing it so incremental
sync has something to do::

    creditsync source-sim emergency_management --workdir .sim  # → .sim/emergency_management/
    AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE='{"conn_type": "sqlite", "host": "/abs/path/x.db"}'

Every ``CREDITSYNC_SOURCE_SIM_INTERVAL_S`` seconds (default 20) it adds a case, corrects one, or adds
an inspection, each with a fresh ``gxsj``; it stops on SIGTERM/SIGINT. From tests::

    db = create_database(f"sqlite:///{tmp_path / 'em.db'}", seed=7)   # or a PostgreSQL URL
    db.update_penalty("YJCF-0003", bz="更正")

Tables, column names and the deliberately broken rows are documented in
:mod:`creditsync.simulators.departments.emergency_management_data`.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from creditsync.settings import SOURCE_SIM_INTERVAL_S, simulator_interval
from creditsync.simulators.departments import SimulatorOptions
from creditsync.simulators.departments import emergency_management_data as data

logger = logging.getLogger(__name__)

DEPARTMENT = "emergency_management"
DB_FILE = f"{DEPARTMENT}.db"
DEFAULT_INTERVAL_S = 20.0

metadata = sa.MetaData()
_S = sa.String
PENALTIES = sa.Table(
    "xzcf_ajxx", metadata,  # 行政处罚案件信息
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ajbh", _S(32), nullable=False, unique=True),  # 案件编号
    sa.Column("cfjdswh", _S(64)),  # 处罚决定书文号
    sa.Column("dsr_mc", _S(200)), sa.Column("dsr_lx", _S(16)),  # 当事人名称, 类型
    sa.Column("tyshxydm", _S(18)), sa.Column("gszch", _S(20)),  # 统一社会信用代码, 工商注册号
    sa.Column("fddbr", _S(50)), sa.Column("fddbr_zjlx", _S(16)), sa.Column("fddbr_zjhm", _S(18)),
    sa.Column("dsr_zjlx", _S(16)), sa.Column("dsr_zjhm", _S(18)), sa.Column("dsr_dz", _S(200)),
    sa.Column("wfxw", _S(200)), sa.Column("wfss", sa.Text), sa.Column("cfyj", sa.Text),  # 违法行为/事实/依据
    sa.Column("cfzl", _S(100)), sa.Column("cfnr", sa.Text),  # 处罚种类, 内容
    sa.Column("fkje_yuan", sa.Numeric(14, 2)), sa.Column("mswfsd_yuan", sa.Numeric(14, 2)),  # 罚没金额（元）
    sa.Column("zkdx", _S(200)),  # 暂扣或吊销的证照
    sa.Column("cfrq", sa.Date), sa.Column("cfyxq", sa.Date),  # 处罚决定日期, 有效期（NULL 长期）
    sa.Column("ajzt", _S(16)), sa.Column("bz", sa.Text),  # 案件状态, 备注
    sa.Column("lrsj", sa.DateTime), sa.Column("gxsj", sa.DateTime, index=True),  # 录入, 更新时间
)
INSPECTIONS = sa.Table(
    "xzjc_jl", metadata,  # 行政检查记录 (append-only)
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("jcbh", _S(32), nullable=False, unique=True),  # 检查编号
    sa.Column("rwbh", _S(40)), sa.Column("jcsx", _S(200)), sa.Column("jcfs", _S(16)),  # 任务编号, 事项, 方式
    sa.Column("jcdx_mc", _S(200)), sa.Column("jcdx_lx", _S(16)), sa.Column("jcdx_tyshxydm", _S(18)),
    sa.Column("jcrq", sa.Date), sa.Column("jcjg", _S(100)), sa.Column("jcjg_sm", sa.Text),  # 日期, 结果
    sa.Column("ssjg_mc", _S(200)), sa.Column("ajbh", _S(32)),  # 实施机关, 立案时的案件编号
    sa.Column("gxsj", sa.DateTime),
)


class SourceDatabase:
    """The department's database, with the edits its staff make (each moves ``gxsj`` forward)."""

    def __init__(self, url: str, seed: int = 7, today: date | None = None) -> None:
        self.url, self.today = url, today or data.local_now().date()
        self.engine = _writer_engine(url)
        self.rng = random.Random(seed * 7919 + 1)  # edits: independent of the initial data
        self._last = datetime.min

    broken_penalties = data.BROKEN_PENALTIES
    broken_inspections = data.BROKEN_INSPECTIONS

    def fill(self, seed: int, penalties: int, inspections: int) -> None:
        """Recreate both tables with the seed's rows (the simulator owns this database)."""
        rng = random.Random(seed)
        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(PENALTIES.insert(), data.generate_penalties(rng, penalties, self.today))
            conn.execute(INSPECTIONS.insert(), data.generate_inspections(rng, inspections, self.today))
        self._last = max(self._last, *(row["gxsj"] for row in self.penalties() if row["gxsj"]))

    def penalties(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(PENALTIES).order_by(PENALTIES.c.id)).mappings()]

    def penalty(self, ajbh: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(PENALTIES).where(PENALTIES.c.ajbh == ajbh)).mappings().first()
        if row is None:
            raise KeyError(ajbh)
        return dict(row)

    def add_penalty(self, **fields: Any) -> dict[str, Any]:
        """A case decided today, entered now; ``fields`` override generated columns."""
        number = self._count(PENALTIES) + 1
        row = data.make_penalty(self.rng, number, self.today, self.today + timedelta(days=1))
        stamp = self._stamp()
        row.update(lrsj=stamp, gxsj=stamp, **fields)
        with self.engine.begin() as conn:
            conn.execute(PENALTIES.insert(), row)
        return self.penalty(row["ajbh"])

    def update_penalty(self, ajbh: str, **fields: Any) -> dict[str, Any]:
        """Correct a case (e.g. ``ajzt="已撤销"``); ``gxsj`` moves past every earlier stamp."""
        with self.engine.begin() as conn:
            done = conn.execute(PENALTIES.update().where(PENALTIES.c.ajbh == ajbh)
                                .values(**fields, gxsj=self._stamp()))
        if done.rowcount != 1:
            raise KeyError(ajbh)
        return self.penalty(ajbh)

    def add_inspection(self, **fields: Any) -> dict[str, Any]:
        row = data.make_inspection(self.rng, self._count(INSPECTIONS) + 1, self.today)
        row.update(gxsj=self._stamp(), **fields)
        with self.engine.begin() as conn:
            conn.execute(INSPECTIONS.insert(), row)
        return row

    def tick(self) -> str:
        """One edit, as the department's staff would make: new case, correction, or inspection."""
        choice = self.rng.choices(("add", "correct", "inspect"), weights=(4, 3, 3))[0]
        if choice == "add":
            return "added " + self.add_penalty()["ajbh"]
        if choice == "correct":
            key = data.penalty_key(self.rng.randint(1, self._count(PENALTIES)))
            self.update_penalty(key, bz=f"{self.today:%Y年%m月%d日}更正：当事人地址核对无误")
            return "corrected " + key
        return "inspected " + self.add_inspection()["jcbh"]

    def dispose(self) -> None:
        self.engine.dispose()

    def _count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)

    def _stamp(self) -> datetime:
        """Now, but strictly after every stamp this simulator wrote (clocks have coarse ticks)."""
        self._last = max(data.local_now(), self._last + timedelta(microseconds=1))
        return self._last


def create_database(url: str, seed: int = 7, *, penalties: int = 40, inspections: int = 60,
                    today: date | None = None) -> SourceDatabase:
    """Create (or recreate) the department's tables at ``url`` and fill them from ``seed``."""
    database = SourceDatabase(url, seed, today)
    database.fill(seed, penalties, inspections)
    return database


def sqlite_url(workdir: Path) -> str:
    return f"sqlite:///{(workdir / DB_FILE).resolve()}"


def run_simulator(options: SimulatorOptions, *, interval_s: float | None = None,
                  stop: threading.Event | None = None) -> None:
    """Create the database in ``options.workdir`` and edit it every ``interval_s`` until SIGTERM/SIGINT
    (or until ``stop`` is set)."""
    interval = interval_s or simulator_interval(SOURCE_SIM_INTERVAL_S, float(DEFAULT_INTERVAL_S))
    options.workdir.mkdir(parents=True, exist_ok=True)
    database = create_database(sqlite_url(options.workdir), options.seed)
    stop = stop or _stop_on_signals()
    print(f"{DEPARTMENT} simulator: database {database.url}, one edit every {interval:g} s", flush=True)
    try:
        while not stop.wait(interval):
            logger.info("%s simulator: %s", DEPARTMENT, database.tick())
    finally:
        database.dispose()


def _stop_on_signals() -> threading.Event:
    event = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return event


def _writer_engine(url: str) -> Engine:
    """SQLite in WAL mode with a busy timeout, so the gateway can read while the staff write."""
    if sa.make_url(url).get_backend_name() != "sqlite":
        return sa.create_engine(url)
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine
