"""A seasonal forecast of a rate (requests, checkouts per second): Holt-Winters, additive, one season.

Online and pure Python: each `update(x)` is O(1), the state is a level, a trend and one seasonal
offset per slot of the season (288 of them for a day at 5-minute steps). The forecast `h` steps
ahead is level + h * trend + the season's offset at that slot; `peak(steps)` is the highest of the
next `steps`, which is what an autoscaler has to be ready for when pods take minutes to start.

Until a whole season has been seen there is no seasonal profile: the forecast is the level (an EWMA)
and `seasonal` is false. The first season initialises the profile (each slot's value minus the
season's mean), so from the second day on a daily peak is forecast before it starts.

Robustness: an error larger than `clip` times the typical absolute error (an EWMA of it) updates the
state as if it were only that large, so a one-off flash sale barely moves tomorrow's profile, while a
level that stays up is followed within a few steps through the level, not the season.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HoltWintersConfig:
    period: int  # steps per season (288: a day of 5-minute steps)
    alpha: float = 0.3  # level
    beta: float = 0.02  # trend
    gamma: float = 0.15  # season
    phi: float = 0.9  # trend damping: a 10-minute forecast must not extrapolate a ramp for ever
    clip: float = 4.0  # errors past this many typical errors count as this many

    def __post_init__(self) -> None:
        if self.period < 2:
            raise ValueError("a season needs at least 2 steps")
        for name in ("alpha", "beta", "gamma", "phi"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")


class HoltWinters:
    def __init__(self, config: HoltWintersConfig) -> None:
        self.config = config
        self.level = 0.0
        self.trend = 0.0
        self.season = [0.0] * config.period
        self.seen = 0  # updates so far
        self._first: list[float] = []
        self._mad = 0.0  # typical absolute one-step error (EWMA)

    @property
    def seasonal(self) -> bool:
        return self.seen >= self.config.period

    def _slot(self, steps_from_now: int) -> int:
        return (self.seen + steps_from_now) % self.config.period

    def forecast(self, h: int = 1) -> float:
        """The value expected `h` steps after the last update (never negative)."""
        c = self.config
        if self.seen == 0:
            return 0.0
        damped = sum(c.phi**i for i in range(1, h + 1))
        season = self.season[self._slot(h - 1)] if self.seasonal else 0.0
        return max(0.0, self.level + damped * self.trend + season)

    def peak(self, steps: int) -> float:
        """The highest forecast over the next `steps` steps."""
        return max(self.forecast(h) for h in range(1, max(1, steps) + 1))

    def update(self, x: float) -> None:
        c = self.config
        if self.seen == 0:
            self.level = x
        if not self.seasonal:
            self._first.append(x)
            self.level += c.alpha * (x - self.level)
            self.seen += 1
            if self.seasonal:  # the first season is complete: it is the profile
                mean = sum(self._first) / len(self._first)
                self.season = [v - mean for v in self._first]
                self.level, self._first = mean, []
                self._mad = sum(abs(v - mean) for v in self.season) / len(self.season) or 1.0
            return
        slot = self._slot(0)
        error = x - self.forecast(1)
        bound = c.clip * self._mad
        if abs(error) > bound > 0:
            x -= error - (bound if error > 0 else -bound)  # as if the error were only `bound`
        self._mad += 0.05 * (min(abs(error), 2 * bound or abs(error)) - self._mad)
        previous = self.level
        self.level = c.alpha * (x - self.season[slot]) + (1 - c.alpha) * (previous + c.phi * self.trend)
        self.trend = c.beta * (self.level - previous) + (1 - c.beta) * c.phi * self.trend
        self.season[slot] = c.gamma * (x - self.level) + (1 - c.gamma) * self.season[slot]
        self.seen += 1
