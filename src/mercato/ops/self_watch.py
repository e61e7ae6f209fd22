"""The anomaly detector inside each process, over the process's own metrics.

Every `interval` seconds the process's registry is rendered once and fed to a `Watch`: the same code
`mercato ops anomalies` runs over scrapes from outside. Counters become rates, one streaming `Detector`
per series, at most `watch.MAX_SERIES` series. Each series' latest score is exported on the same
registry (`mercato_anomaly_score{series}`), and each alert is counted
(`mercato_anomaly_alerts_total{series}`, edge-triggered like the detector) and logged as one sentence:
what, since when, how far from normal. So the process's own `/metrics` says where it stands, and an
alert rule on `increase(mercato_anomaly_alerts_total[5m]) > 0` pages without a second detector. The
series names are metric names (and an order lifecycle step): bounded, no ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from mercato.ops.anomaly import DetectorConfig
from mercato.ops.watch import Anomaly, Watch
from mercato.platform.metrics import Metrics

log = logging.getLogger(__name__)


class SelfWatch:
    def __init__(
        self,
        metrics: Metrics,
        *,
        interval: float,
        config: DetectorConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self.interval = interval
        self.clock = clock
        self.watch = Watch(config)
        registry = metrics.registry
        self.score = Gauge(
            "mercato_anomaly_score",
            "The in-process anomaly detector's latest score of one of this process's series (0 to 1; "
            "0.5 and above is an alert).",
            ["series"],
            registry=registry,
        )
        self.alerts = Counter(
            "mercato_anomaly_alerts",
            "Alerts the in-process anomaly detector raised on a series (one per episode).",
            ["series"],
            registry=registry,
        )

    def observe(self, t: float, exposition: str) -> list[Anomaly]:
        """Feed one rendering of the registry taken at time `t`; returns the alerts it raised."""
        raised = self.watch.feed(t, exposition)
        for series, (_, reading) in self.watch.last.items():
            self.score.labels(series).set(reading.score)
        for anomaly in raised:
            self.alerts.labels(anomaly.series).inc()
            log.warning("anomaly: %s", anomaly.message())
        return raised

    async def run(self) -> None:
        """Observe every `interval` seconds until cancelled; a failed round is logged and skipped."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.metrics.sample()  # the gauges read from sources (lag, outbox) at scrape time
                self.observe(self.clock(), self.metrics.exposition().decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the in-process anomaly detector skipped a round")
