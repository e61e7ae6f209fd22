"""`mercato ops`: the anomaly detector over files and live processes, synthetic traffic, evaluation.

Kept out of `mercato.cli` (which only registers `ops_app`) and free of engines: these commands need no
database, broker or configuration.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from mercato.ops.anomaly import DetectorConfig, detect
from mercato.ops.evaluation import Score, detector_rule, evaluate, static_rule
from mercato.ops.series import SeriesError, format_time, read_series, series_csv, write_scored
from mercato.ops.traffic import generate
from mercato.ops.watch import Anomaly, Watch

ops_app = typer.Typer(
    no_args_is_help=True,
    help="Operations: anomaly detection over metric series; repair tools (dead letters, stuck sagas).",
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@ops_app.command("detect")
def detect_command(
    file: Annotated[Path, typer.Argument(help="CSV: a header, then timestamp,value rows (- for stdin).")],
    threshold: Annotated[float, typer.Option(help="Score (0-1) at which a row raises an alert.")] = 0.5,
) -> None:
    """Score every row of a series from the rows before it: timestamp,value,anomaly_score,alert."""
    if not 0.0 < threshold <= 1.0:
        _fail("--threshold must be in (0, 1]")
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_bytes().decode("utf-8")
        rows = read_series(text)
    except SeriesError as exc:
        _fail(f"{file}: {exc}")
        return
    except UnicodeDecodeError:
        _fail(f"{file}: not a UTF-8 text file")
        return
    except OSError as exc:
        _fail(f"{file}: {exc.strerror or exc}")
        return
    config = DetectorConfig(threshold=threshold, release=min(0.3, threshold * 0.6))
    readings = detect([(r.t, r.x) for r in rows], config)
    try:
        sys.stdout.writelines(write_scored(rows, readings))
        sys.stdout.flush()
    except BrokenPipeError:  # `mercato ops detect f.csv | head`
        sys.stderr.close()


@ops_app.command("generate")
def generate_command(
    directory: Annotated[Path, typer.Argument(help="Where to write one CSV per series and incidents.csv.")],
    seed: int = 1,
    days: int = 21,
    interval: Annotated[float, typer.Option(help="Sampling interval in seconds.")] = 300.0,
) -> None:
    """Write synthetic shop traffic with planted incidents (and the incidents' labels)."""
    try:
        traffic = generate(seed, days=days, interval=interval)
        directory.mkdir(parents=True, exist_ok=True)
        for name, samples in traffic.series.items():
            (directory / f"{name}.csv").write_text(series_csv(samples))
        labels = ["name,series,start,end,benign"]
        labels += [
            f"{i.name},{i.series},{format_time(i.start)},{format_time(i.end)},{int(i.benign)}"
            for i in traffic.incidents
        ]
        (directory / "incidents.csv").write_text("\n".join(labels) + "\n")
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"{len(traffic.series)} series and incidents.csv written to {directory}", err=True)


@ops_app.command("evaluate")
def evaluate_command(
    seeds: Annotated[int, typer.Option(help="Data sets to generate and score.")] = 5,
    days: int = 21,
    interval: float = 300.0,
) -> None:
    """Precision, recall and detection delay of the detector beside a static-threshold rule."""
    rules = {
        "anomaly detector": detector_rule(),
        "static thresholds (training week's 0.1-99.9 %)": static_rule(),
    }
    totals = {name: Score(delays=[]) for name in rules}
    delays: dict[str, dict[str, list[float | None]]] = {name: {} for name in rules}
    for seed in range(1, seeds + 1):
        traffic = generate(seed, days=days, interval=interval)
        for name, rule in rules.items():
            score, first = evaluate(traffic, rule)
            totals[name].add(score)
            for incident, delay in first.items():
                delays[name].setdefault(incident, []).append(delay)
    typer.echo(f"{seeds} data sets x {days} days at {interval:g} s, scored after the first week\n")
    typer.echo("| rule | recall | precision | false alarms / day | quiet-night alarms |")
    typer.echo("|---|---|---|---|---|")
    for name, s in totals.items():
        typer.echo(
            f"| {name} | {s.caught}/{s.incidents} = {s.recall:.2f} | {s.precision:.2f} | "
            f"{s.false_alarms_per_day:.2f} ({s.false_alarms}) | {s.benign_alarms} |"
        )
    typer.echo("\n| incident | " + " | ".join(rules) + " |")
    typer.echo("|---|" + "---|" * len(rules))
    for incident in next(iter(delays.values())):
        cells = [_delay_cell(delays[name][incident]) for name in rules]
        typer.echo(f"| {incident} | " + " | ".join(cells) + " |")


def _delay_cell(delays: list[float | None]) -> str:
    found = [d / 60.0 for d in delays if d is not None]
    if not found:
        return f"missed {len(delays)}/{len(delays)}"
    missed = len(delays) - len(found)
    text = f"caught {len(found)}/{len(delays)}, median delay {statistics.median(found):.0f} min"
    return text + (f" (max {max(found):.0f})" if missed == 0 else "")


@ops_app.command("anomalies")
def anomalies_command(
    urls: Annotated[list[str], typer.Argument(help="/metrics URLs of the processes to watch.")],
    interval: Annotated[float, typer.Option(help="Seconds between scrapes.")] = 15.0,
    samples: Annotated[int, typer.Option(help="Scrapes before stopping; 0: until interrupted.")] = 0,
    webhook: Annotated[str | None, typer.Option(help="POST each alert there as JSON.")] = None,
) -> None:
    """Watch processes' metrics live and report each anomaly as it starts (what, since when, how far)."""
    if interval <= 0:
        _fail("--interval must be positive")
    watches = {url: Watch() for url in urls}
    done = 0
    with httpx.Client(timeout=min(interval, 10.0)) as http:
        try:
            while samples == 0 or done < samples:
                started = time.time()
                for url, watch in watches.items():
                    exposition, error = scrape(http, url)
                    if exposition is None:
                        typer.echo(f"warning: {url}: {error}", err=True)
                        continue
                    for anomaly in watch.feed(started, exposition):
                        _report(http, url, anomaly, webhook)
                done += 1
                if samples == 0 or done < samples:
                    time.sleep(max(0.0, interval - (time.time() - started)))
        except KeyboardInterrupt:
            pass
    for url, watch in watches.items():
        active = {s: r for s, (_, r) in watch.last.items() if r.score >= 0.5}
        typer.echo(f"{url}: {len(watch.last)} series watched, {len(active)} anomalous now")


def scrape(http: httpx.Client, url: str) -> tuple[str | None, str | None]:
    """One process's `/metrics` text, or (None, why not): a process that cannot be scraped is not fatal."""
    try:
        return http.get(url).raise_for_status().text, None
    except httpx.HTTPError as exc:
        return None, str(exc) or type(exc).__name__


def _report(http: httpx.Client, url: str, anomaly: Anomaly, webhook: str | None) -> None:
    text = f"{url}: {anomaly.message()}"
    typer.echo(text)
    if webhook is None:
        return
    body = {
        "text": text,
        "source": url,
        "series": anomaly.series,
        "value": anomaly.value,
        "expected": anomaly.reading.expected,
        "score": anomaly.reading.score,
        "kind": anomaly.reading.kind,
        "since": format_time(anomaly.at),
    }
    try:
        http.post(webhook, json=body).raise_for_status()
    except httpx.HTTPError as exc:
        typer.echo(f"warning: webhook {webhook}: {exc}", err=True)
