"""Rolling order statistics over a bounded window, cheap enough to update on every sample.

A sorted copy of the window is kept beside its arrival order: a push or an eviction is one bisect and
one list insert/delete (a memmove in C), so median and quantiles are O(1) reads instead of a sort.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

MAD_TO_SIGMA = 1.4826  # the median absolute deviation of a normal sample is 0.6745 sigma


class RollingWindow:
    """The last `capacity` values pushed, with their order statistics."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._order)

    def push(self, value: float) -> None:
        if len(self._order) == self.capacity:
            oldest = self._order.popleft()
            del self._sorted[bisect_left(self._sorted, oldest)]
        self._order.append(value)
        insort(self._sorted, value)

    def clear(self) -> None:
        self._order.clear()
        self._sorted.clear()

    def values(self) -> list[float]:
        return list(self._order)

    def quantile(self, q: float) -> float:
        """The q-quantile by linear interpolation between order statistics; the window must not be empty."""
        s = self._sorted
        if not s:
            raise ValueError("empty window")
        pos = q * (len(s) - 1)
        low = int(pos)
        high = min(low + 1, len(s) - 1)
        return s[low] + (s[high] - s[low]) * (pos - low)

    def median(self) -> float:
        return self.quantile(0.5)

    def trimmed_mean(self, keep: float = 0.95) -> float:
        """The mean of the lowest `keep` share of the values: typical size, blind to a few outliers."""
        s = self._sorted
        kept = s[: max(1, int(len(s) * keep))]
        return sum(kept) / len(kept)


def median_of(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


MEAN_AD_TO_SIGMA = 1.2533  # the mean absolute deviation of a normal sample is 0.798 sigma


def robust_location_scale(values: list[float]) -> tuple[float, float]:
    """Median and a spread in normal sigmas: the MAD, or the mean absolute deviation when that is
    larger (discrete data, where most values are equal and the MAD is zero although they vary)."""
    centre = median_of(values)
    deviations = [abs(v - centre) for v in values]
    mad = MAD_TO_SIGMA * median_of(deviations)
    return centre, max(mad, MEAN_AD_TO_SIGMA * sum(deviations) / len(deviations))
