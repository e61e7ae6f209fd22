"""A streaming anomaly detector for one metric series: online, no look-ahead, seasonality-aware.

`Detector.update(t, x)` scores a sample from what came before it and then learns it. Several models of
"normal" predict each sample:

- local: the median of the last samples (robust to a spike in the window);
- EWMA: a short exponentially weighted mean, which follows a legitimate ramp quickly;
- daily and weekly: the median of the values seen at the same time of day (of week) on previous days
  (weeks), within a neighbourhood of that time, plus a fast offset that follows today's level. Their
  spread is the MAD of those same values, so a noisy night and a tight afternoon each get their own.

Each model's residual is turned into a robust z-score and calibrated against the model's recent
record (a series with heavy tails needs a bigger deviation to be surprising: the calibration divides by
max(1, median|z|/0.6745, q99|z|/2.576)). The models are blended by how well they have predicted
lately (weights 1/typical-residual^2), so a seasonal series is judged by its seasonal models and a
random walk by its local ones, without being told which it is. A two-sided CUSUM on the residual from a
slow baseline (the seasonal profile plus a slowly adapting offset, or a long median) catches level
shifts and drifts too slow for any point test.

Everything is expressed in time (days, weeks, a neighbourhood in seconds) or in samples of a window,
never in an assumed sampling interval: the interval is inferred from the timestamps (median of the
recent gaps), gaps longer than ten intervals re-warm the detector instead of alarming, and seasonal
history is thinned when samples are dense so memory stays bounded. Scores lie in [0, 1]
(score = 1 - 2^-(z/z_alert)^2, 0.5 at the alert level); nothing alarms during the warm-up.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from mercato.ops.memory import DAY, WEEK, Z50, ModelRecord, SeasonalHistory
from mercato.ops.rolling import MAD_TO_SIGMA, RollingWindow, robust_location_scale


@dataclass(frozen=True)
class DetectorConfig:
    threshold: float = 0.5  # a score at or above it raises an alert (edge-triggered)
    release: float = 0.3  # the alert re-arms once the score stays below this ...
    release_samples: int = 3  # ... for this many samples in a row
    z_alert: float = 6.0  # the calibrated z that scores 0.5
    local_window: int = 30
    calibration_window: int = 500
    min_calibration: int = 20
    calibration_delay: int = 12  # samples before a sample counts in its model's calibration
    warmup: int = 50  # samples scored 0 before any alert
    rewarm: int = 5  # samples scored 0 after a gap
    gap_intervals: float = 10.0
    neighbourhood_seconds: float = 1800.0  # +- around the same time of day / week
    days: int = 7
    weeks: int = 4
    max_history: int = 30000
    ewma_alpha: float = 0.3
    offset_alpha: float = 0.1
    slow_alpha: float = 0.01
    fit_alpha: float = 0.05
    cusum_k: float = 0.75
    cusum_h: float = 15.0
    cusum_clip: float = 4.0
    cusum_delay: int = 200  # samples before a CUSUM value counts in its own calibration


@dataclass(frozen=True)
class Reading:
    """The detector's verdict on one sample."""

    score: float
    alert: bool
    expected: float  # what the blended models predicted (the sample itself during warm-up)
    z: float  # signed, calibrated, blended deviation
    kind: str  # "", "spike", "dip", "rise" or "fall" (the last two: level shift or drift)


class Detector:
    """Scores a series sample by sample; feed it timestamps (seconds) in strictly increasing order."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = c = config or DetectorConfig()
        self._n = 0
        self._last_t: float | None = None
        self._first_t: float | None = None
        self._elapsed = 0.0
        self._gaps = RollingWindow(50)
        self._local = RollingWindow(c.local_window)
        self._long = RollingWindow(c.calibration_window)
        self._history = SeasonalHistory(c)
        self._ewma: float | None = None
        self._last_x: float | None = None
        self._steps = RollingWindow(c.calibration_window)
        self._ewma_dev = 0.0
        self._offsets = {"daily": 0.0, "weekly": 0.0}
        self._slow_offset = 0.0
        self._slow_seasonal = False
        self._recent_fit: dict[str, float] = {}  # EWMA of |x - profile| per seasonal model
        self._models = {name: ModelRecord(c) for name in ("local", "ewma", "daily", "weekly", "slow")}
        self._cusum_up = 0.0
        self._cusum_down = 0.0
        self._cusum_delayed: deque[float] = deque()
        self._cusum_history = RollingWindow(2 * c.calibration_window)
        self._quiet = 0  # samples left without scoring (warm-up, re-warm after a gap)
        self._armed = True
        self._below = 0

    @property
    def interval(self) -> float | None:
        """The sampling interval inferred so far (median of the recent gaps), in seconds."""
        return self._gaps.median() if len(self._gaps) else None

    @property
    def period_samples(self) -> int | None:
        """Samples per day at the inferred interval."""
        interval = self.interval
        return max(1, round(DAY / interval)) if interval else None

    def update(self, t: float, x: float) -> Reading:
        c = self.config
        if not math.isfinite(x) or not math.isfinite(t):
            raise ValueError("timestamps and values must be finite numbers")
        if self._last_t is not None:
            gap = t - self._last_t
            if gap <= 0:
                raise ValueError("timestamps must be strictly increasing")
            interval = self.interval
            if interval is not None and len(self._gaps) >= 5 and gap > c.gap_intervals * interval:
                self._quiet = max(self._quiet, c.rewarm)
                self._cusum_up = self._cusum_down = 0.0
            self._gaps.push(gap)
        if self._first_t is None:
            self._first_t = t
        self._elapsed = t - self._first_t
        self._last_t = t
        self._n += 1
        interval = self.interval or 1.0
        reading = self._score(t, x, interval) if self._n > 1 else None
        if reading is None:
            self._learn_first(t, x, interval)
            return Reading(0.0, False, x, 0.0, "")
        return reading

    # --- scoring ---------------------------------------------------------------------------------

    def _predictions(self, t: float, interval: float) -> dict[str, tuple[float, float]]:
        """Each available model's (prediction, native sigma) for time t, from the past only."""
        c = self.config
        out: dict[str, tuple[float, float]] = {}
        self._slow_seasonal = False
        centre, spread = robust_location_scale(self._local.values())
        floor = max(self._noise_floor(), 1e-9 * max(1.0, abs(centre)))
        spread = max(spread, floor)
        out["local"] = (centre, spread)
        if self._ewma is not None:
            # A few samples' deviation says little about the spread: never below the local one.
            out["ewma"] = (self._ewma, max(1.2533 * self._ewma_dev, spread))
        # Wide enough to find a few samples, narrow enough not to span the daily slope when sparse.
        half = max(c.neighbourhood_seconds, 0.5 * interval)
        for name, period, count in (("daily", DAY, c.days), ("weekly", WEEK, c.weeks)):
            if period < 4 * interval:
                continue  # a "season" of a handful of samples is no season
            seen: list[float] = []
            periods = 0
            for k in range(1, count + 1):
                values = self._history.around(t - k * period, half)
                if values:
                    periods += 1
                    seen.extend(values)
            if periods >= (1 if name == "weekly" else 2) and len(seen) >= 3:
                level, sigma = robust_location_scale(seen)
                sigma = max(sigma, floor)
                # Offsets are kept in sigmas of the time of day: a weekend's extra hundred orders at
                # noon is a few orders at 3 am, not a hundred.
                out[name] = (level + self._offsets[name] * sigma, sigma)
                out[name + "_raw"] = (level, sigma)
        seasonal = [n for n in ("weekly", "daily") if n in out and self._models[n].ready()]
        if seasonal:
            best = min(seasonal, key=lambda n: self._recent_fit.get(n, math.inf))
            level, sigma = out[best + "_raw"]
            out["slow"] = (level + self._slow_offset * sigma, sigma)
            self._slow_seasonal = True
        elif len(self._long):
            out["slow"] = (self._long.median(), max(MAD_TO_SIGMA * _mad(self._long), floor))
        return out

    def _score(self, t: float, x: float, interval: float) -> Reading:
        c = self.config
        predictions = self._predictions(t, interval)
        raw: dict[str, tuple[float, float]] = {}
        for name, (prediction, sigma) in predictions.items():
            if name.endswith("_raw"):
                continue
            residual = x - prediction
            raw[name] = (residual, residual / sigma)
        point = [n for n in raw if n != "slow" and (self._models[n].ready() or n == "local")]
        weights = _weights({n: self._models[n].typical() for n in point})
        total = sum(weights.values())
        hour = int(t % DAY // 3600)
        z = sum(w * self._models[n].calibrated(raw[n][1], hour) for n, w in weights.items()) / total
        expected = sum(w * predictions[n][0] for n, w in weights.items()) / total

        drift = 0.0
        if "slow" in raw and self._models["slow"].ready():
            u = self._models["slow"].calibrated(raw["slow"][1], hour)
            u = _clip(u, c.cusum_clip)
            cap = 4.0 * c.cusum_h
            self._cusum_up = min(cap, max(0.0, self._cusum_up + u - c.cusum_k))
            self._cusum_down = min(cap, max(0.0, self._cusum_down - u - c.cusum_k))
            drift = max(self._cusum_up, self._cusum_down) / self._cusum_threshold()

        point_score = _to_score(abs(z) / c.z_alert)
        drift_score = _to_score(drift)
        score = max(point_score, drift_score)
        if point_score >= drift_score:
            kind = "spike" if z > 0 else "dip"
        else:
            kind = "rise" if self._cusum_up >= self._cusum_down else "fall"

        scoring = self._n > c.warmup and self._quiet == 0
        if self._quiet:
            self._quiet -= 1
        if not scoring:
            score, kind = 0.0, ""
        alert = self._alert(score)
        self._learn(t, x, interval, raw, z)
        return Reading(score, alert, expected, z, kind if score >= c.release else "")

    def _cusum_threshold(self) -> float:
        """H, or more on a series whose level wanders by nature (a random walk): 1.25 times the 99th
        percentile of the CUSUM's own past values, read with a delay so that a drift in progress
        does not raise the bar it is about to cross. Until that record exists (`cusum_delay` + 100
        samples, and a day or 2000 samples) the drift test is muted: before the seasonal models exist,
        the slow baseline is a plain median, and a daily cycle would look like a drift on day one."""
        c = self.config
        history = self._cusum_history
        settled = self._slow_seasonal or self._n >= 2000 or self._elapsed >= DAY
        if len(history) < 100 or not settled:
            return math.inf  # muted until calibrated: a day's cycle is no drift
        return max(c.cusum_h, 1.25 * history.quantile(0.99))

    def _noise_floor(self) -> float:
        """Half the series' sample-to-sample noise (median of the nonzero steps): a window that
        happened to be flat (zeros at night) must not make the next ordinary step infinitely rare."""
        if len(self._steps) < self.config.min_calibration:
            return 0.0
        return 0.5 * self._steps.median() / (Z50 * math.sqrt(2.0))

    def _alert(self, score: float) -> bool:
        c = self.config
        if self._armed and score >= c.threshold:
            self._armed = False
            self._below = 0
            return True
        if not self._armed:
            self._below = self._below + 1 if score < c.release else 0
            if self._below >= c.release_samples:
                self._armed = True
        return False

    # --- learning --------------------------------------------------------------------------------

    def _learn_first(self, t: float, x: float, interval: float) -> None:
        self._local.push(x)
        self._long.push(x)
        self._ewma = x
        self._last_x = x
        self._history.add(t, x, interval)

    def _learn(
        self, t: float, x: float, interval: float, raw: dict[str, tuple[float, float]], z: float
    ) -> None:
        c = self.config
        hour = int(t % DAY // 3600)
        for name, (residual, z_raw) in raw.items():
            model = self._models[name]
            model.learn(residual, z_raw, hour, 2.0 * c.z_alert * model.factor(hour))
        for name in ("daily", "weekly"):
            if name in raw:
                residual, z_raw = raw[name]
                standardized = z_raw + self._offsets[name]  # x minus the plain profile, in sigmas
                profile_miss = abs(residual / z_raw * standardized) if z_raw else abs(residual)
                fit = self._recent_fit.get(name, profile_miss)
                self._recent_fit[name] = fit + c.fit_alpha * (profile_miss - fit)
                standardized = _clip(standardized, 2.0 * c.cusum_clip)
                self._offsets[name] += c.offset_alpha * (standardized - self._offsets[name])
        if "slow" in raw and self._slow_seasonal:
            self._slow_offset += c.slow_alpha * _clip(raw["slow"][1], 2.0 * c.cusum_clip)
        self._cusum_delayed.append(max(self._cusum_up, self._cusum_down))
        if len(self._cusum_delayed) > c.cusum_delay:
            self._cusum_history.push(self._cusum_delayed.popleft())
        if self._last_x is not None and x != self._last_x:
            self._steps.push(abs(x - self._last_x))
        self._last_x = x
        previous = self._ewma if self._ewma is not None else x
        self._ewma_dev += c.ewma_alpha * (abs(x - previous) - self._ewma_dev)
        self._ewma = previous + c.ewma_alpha * (x - previous)
        self._local.push(x)
        self._long.push(x)
        self._history.add(t, x, interval)


def _weights(typical: dict[str, float]) -> dict[str, float]:
    """Inverse-square weights relative to the best model, so no weight overflows."""
    finite = {n: v for n, v in typical.items() if math.isfinite(v)}
    if not finite:
        return {"local": 1.0}
    best = min(finite.values())
    if best <= 0.0:
        return {n: 1.0 for n, v in finite.items() if v <= 0.0}
    return {n: (best / v) ** 2 for n, v in finite.items()}


def _clip(value: float, bound: float) -> float:
    return max(-bound, min(bound, value))


def _mad(window: RollingWindow) -> float:
    centre = window.median()
    values = window.values()
    deviations = sorted(abs(v - centre) for v in values)
    return deviations[len(deviations) // 2]


def _to_score(ratio: float) -> float:
    """Maps a deviation in units of the alert level to [0, 1): 0.5 at the alert level."""
    return 1.0 - math.pow(2.0, -(ratio * ratio))


def detect(samples: list[tuple[float, float]], config: DetectorConfig | None = None) -> list[Reading]:
    """Runs a fresh detector over (timestamp seconds, value) samples in order."""
    detector = Detector(config)
    return [detector.update(t, x) for t, x in samples]
