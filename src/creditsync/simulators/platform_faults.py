"""What goes wrong at the simulated platform, and when: fault settings and one seeded RNG for them."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from creditsync.exceptions import ConfigurationError

FAULT_KINDS = ("500", "502", "503", "429", "slow", "drop")
# What provincial validators really answer (credit-data-standard §9.6), used by ``reject_rate``.
REJECTION_MESSAGES = (
    "行政相对人类别不能为空",
    "发证日期不能大于当前日期！",
    "处罚机关统一社会信用代码校验不通过",
    "数据来源单位统一社会信用代码不能为空",
    "处罚决定日期格式不正确，应为yyyy-MM-dd",
)


@dataclass(frozen=True)
class FaultConfig:
    """Rates are per request (``fault_rate``, ``lost_ack_rate``) or per valid record (``reject_rate``).

    ``slow_ms`` is how late a "slow" answer comes; 0 disables that kind. ``kinds`` narrows the
    transient faults drawn (tests use it to provoke one kind). ``missing_id_rate`` (per accepted
    record) answers ``accepted`` without the ``platform_id``, in push answers and, with
    ``missing_id_on_query``, in query-back answers too (the record is stored all the same).
    """

    fault_rate: float = 0.0
    lost_ack_rate: float = 0.0
    reject_rate: float = 0.0
    slow_ms: int = 0
    seed: int | None = None
    kinds: tuple[str, ...] = FAULT_KINDS
    missing_id_rate: float = 0.0
    missing_id_on_query: bool = False

    def __post_init__(self) -> None:
        for name in ("fault_rate", "lost_ack_rate", "reject_rate", "missing_id_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigurationError(f"{name} must be between 0 and 1")
        if unknown := set(self.kinds) - set(FAULT_KINDS):
            raise ConfigurationError(f"unknown fault kinds: {sorted(unknown)}")

    def active_kinds(self) -> tuple[str, ...]:
        return tuple(k for k in self.kinds if k != "slow" or self.slow_ms > 0)


class FaultDice:
    """Every random decision of the simulator, from one seeded generator shared by all threads."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def transient(self) -> str | None:
        kinds = self.config.active_kinds()
        with self._lock:
            hit = kinds and self._rng.random() < self.config.fault_rate
            return self._rng.choice(kinds) if hit else None

    def lost_ack(self) -> str | None:
        with self._lock:
            hit = self._rng.random() < self.config.lost_ack_rate
            return self._rng.choice(("lost_ack_drop", "lost_ack_502")) if hit else None

    def rejection(self) -> str | None:
        with self._lock:
            hit = self._rng.random() < self.config.reject_rate
            return self._rng.choice(REJECTION_MESSAGES) if hit else None

    def missing_id(self) -> bool:
        with self._lock:
            return self._rng.random() < self.config.missing_id_rate

    def retry_after(self) -> int:
        with self._lock:
            return self._rng.randint(1, 3)
