"""What the detector remembers: each model's calibration record and the seasonal history.

Split from `anomaly` to keep each module small; both are pure and bounded in memory.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from typing import TYPE_CHECKING

from mercato.ops.rolling import RollingWindow

if TYPE_CHECKING:
    from mercato.ops.anomaly import DetectorConfig

DAY = 86400.0
WEEK = 7 * DAY
Z99 = 2.576  # |z| a normal sample exceeds 1 % of the time
Z50 = 0.6745  # median |z| of a normal sample


class ModelRecord:
    """Calibration and fit record of one model of normal.

    The calibration is kept per hour of the day as well as overall: a count that is noisy at night
    (two checkouts, one failed) must not make the same deviation at noon look ordinary."""

    def __init__(self, config: DetectorConfig) -> None:
        self.abs_z = RollingWindow(config.calibration_window)
        self.abs_z_by_hour = [RollingWindow(config.calibration_window // 4) for _ in range(24)]
        self.abs_residual = RollingWindow(config.calibration_window)
        self._min = config.min_calibration
        self._delay = config.calibration_delay
        self._pending: deque[tuple[float, int, float]] = deque()

    def ready(self) -> bool:
        return len(self.abs_z) >= self._min

    def factor(self, hour: int) -> float:
        """How much wider than its own sigma this model's surprises have been lately (>= 1)."""
        overall = self.abs_z
        if len(overall) < self._min:
            return 1.0
        window = self.abs_z_by_hour[hour]
        if len(window) < self._min:
            window = overall
        # Typical size by the hour; the tail both by the hour and overall, because an hour's few
        # samples hide how often the series jumps (one spike a hundred samples is no anomaly).
        tail = max(window.quantile(0.99), overall.quantile(0.99))
        return max(1.0, window.median() / Z50, tail / Z99)

    def calibrated(self, z_raw: float, hour: int) -> float:
        return z_raw / self.factor(hour)

    def typical(self) -> float:
        """The typical absolute residual: how well this model has predicted lately."""
        return self.abs_residual.trimmed_mean() if self.ready() else math.inf

    def learn(self, residual: float, z_raw: float, hour: int, cap: float) -> None:
        # Capped so one outage cannot inflate the calibration for the whole window, and delayed so
        # an incident in progress does not make its own next samples look ordinary.
        self._pending.append((min(abs(z_raw), cap), hour, abs(residual)))
        if len(self._pending) <= self._delay:
            return
        value, hour, residual = self._pending.popleft()
        self.abs_z.push(value)
        self.abs_z_by_hour[hour].push(value)
        self.abs_residual.push(residual)


class SeasonalHistory:
    """Timestamped values of the last weeks, thinned to at most `max_history` entries."""

    def __init__(self, config: DetectorConfig) -> None:
        self._times: list[float] = []
        self._values: list[float] = []
        self._start = 0
        self._span = config.weeks * WEEK + DAY
        self._max = config.max_history
        self._count = 0

    def add(self, t: float, x: float, interval: float) -> None:
        per_span = self._span / max(interval, 1e-9)
        stride = max(1, math.ceil(per_span / self._max))
        self._count += 1
        if self._count % stride == 0 or stride == 1:
            self._times.append(t)
            self._values.append(x)
        horizon = t - self._span
        while self._start < len(self._times) and self._times[self._start] < horizon:
            self._start += 1
        if self._start > 1024 and self._start > len(self._times) // 2:
            del self._times[: self._start]
            del self._values[: self._start]
            self._start = 0

    def around(self, centre: float, half_width: float) -> list[float]:
        lo = bisect_left(self._times, centre - half_width, self._start)
        hi = bisect_right(self._times, centre + half_width, lo)
        return self._values[lo:hi]
