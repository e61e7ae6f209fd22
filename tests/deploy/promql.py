"""A small PromQL evaluator for rule unit tests: the subset Mercato's rules and dashboards use.

Expressions are parsed by `promql_parser` (the Rust crate GreptimeDB maintains, PyPI
`promql-parser`); this module walks its AST over synthetic series held in memory, the way Prometheus
would at one instant: selectors look back 5 minutes; `rate`, `increase` and `delta` extrapolate to the
window's edges as Prometheus does (`extrapolatedRate`), counter resets included; aggregations
(`sum`, `max`, `min`, `avg`, `count`, by/without), arithmetic and comparisons between vectors and
scalars with one-to-one `on`/`ignoring` matching, `and`/`or`/`unless`, `vector()`,
`histogram_quantile`, `label_replace`, `*_over_time`. Anything else raises `Unsupported`, so a rule
that leaves the subset fails its test rather than being evaluated wrongly.

`Rules` runs recording rules and alerts of rule groups step by step, with `for` and the alert state
(pending, firing), like Prometheus' rule manager; promtool's `test rules` without the binary.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import promql_parser as pq

Labels = frozenset[tuple[str, str]]
Vector = dict[Labels, float]
LOOKBACK = 300.0


class Unsupported(Exception):
    pass


def labels(**pairs: str) -> Labels:
    return frozenset(pairs.items())


@dataclass
class _Series:
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    # Sum of the values lost at counter resets up to each sample: increase over [i, j] in O(1).
    resets: list[float] = field(default_factory=list)

    def add(self, t: float, v: float) -> None:
        if self.times and t <= self.times[-1]:
            raise ValueError("samples must be appended in time order")
        lost = self.values[-1] if self.values and v < self.values[-1] else 0.0
        self.resets.append((self.resets[-1] if self.resets else 0.0) + lost)
        self.times.append(t)
        self.values.append(v)

    def window(self, start: float, end: float) -> tuple[int, int]:
        """Indexes [i, j) of the samples in (start, end]."""
        return bisect.bisect_right(self.times, start), bisect.bisect_right(self.times, end)


class Store:
    """Series by metric name and labels (the name is not a label here)."""

    def __init__(self) -> None:
        self._series: dict[str, dict[Labels, _Series]] = {}

    def add(self, name: str, series_labels: Labels, t: float, value: float) -> None:
        self._series.setdefault(name, {}).setdefault(series_labels, _Series()).add(t, value)

    def names(self) -> set[str]:
        return set(self._series)

    def select(self, selector: Any) -> Iterable[tuple[Labels, _Series]]:
        matchers = [(m.name, str(m.op), m.value) for m in selector.matchers.matchers]
        if selector.matchers.or_matchers:
            raise Unsupported("or-matchers")
        for series_labels, series in self._series.get(selector.name or "", {}).items():
            values = dict(series_labels)
            if all(_matches(values.get(name, ""), op, value) for name, op, value in matchers):
                yield series_labels, series


def _matches(actual: str, op: str, wanted: str) -> bool:
    if op == "MatchOp.Equal":
        return actual == wanted
    if op == "MatchOp.NotEqual":
        return actual != wanted
    if op == "MatchOp.Re":
        return re.fullmatch(wanted, actual) is not None
    if op == "MatchOp.NotRe":
        return re.fullmatch(wanted, actual) is None
    raise Unsupported(op)


def evaluate(expr: Any, store: Store, t: float) -> Vector | float:
    """The instant value of a parsed expression at time t: a vector, or a scalar."""
    return _Evaluator(store, t).eval(expr)


class _Evaluator:
    def __init__(self, store: Store, t: float) -> None:
        self.store = store
        self.t = t

    def eval(self, e: Any) -> Vector | float:
        kind = type(e).__name__
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise Unsupported(kind)
        result: Vector | float = handler(e)
        return result

    def _ParenExpr(self, e: Any) -> Vector | float:
        return self.eval(e.expr)

    def _NumberLiteral(self, e: Any) -> float:
        return float(e.val)

    def _UnaryExpr(self, e: Any) -> Vector | float:
        value = self.eval(e.expr)
        return -value if isinstance(value, float) else {k: -v for k, v in value.items()}

    def _VectorSelector(self, e: Any) -> Vector:
        at = self.t - _seconds(e.offset)
        out: Vector = {}
        for series_labels, series in self.store.select(e):
            i, j = series.window(at - LOOKBACK, at)
            if j > i:
                out[series_labels] = series.values[j - 1]
        return out

    def _Call(self, e: Any) -> Vector | float:
        name = e.func.name
        args = e.args
        if name in ("rate", "increase", "delta"):
            return self._range_function(name, args[0])
        if name in ("max_over_time", "min_over_time", "avg_over_time"):
            return self._over_time(name, args[0])
        if name == "vector":
            return {frozenset(): self._scalar(args[0])}
        if name == "histogram_quantile":
            return _histogram_quantile(self._scalar(args[0]), self._vector(args[1]))
        if name == "label_replace":
            target, replacement, source, regex = (a.val for a in args[1:])
            return _label_replace(self._vector(args[0]), target, replacement, source, regex)
        raise Unsupported(f"function {name}")

    def _range_function(self, name: str, matrix: Any) -> Vector:
        if type(matrix).__name__ != "MatrixSelector":
            raise Unsupported(f"{name} of a {type(matrix).__name__}")
        selector = matrix.vector_selector
        window = _seconds(matrix.range)
        end = self.t - _seconds(selector.offset)
        out: Vector = {}
        for series_labels, series in self.store.select(selector):
            value = _extrapolated(series, end - window, end, counter=name != "delta", rate=name == "rate")
            if value is not None:
                out[series_labels] = value
        return out

    def _over_time(self, name: str, matrix: Any) -> Vector:
        selector = matrix.vector_selector
        end = self.t - _seconds(selector.offset)
        out: Vector = {}
        for series_labels, series in self.store.select(selector):
            i, j = series.window(end - _seconds(matrix.range), end)
            if j > i:
                values = series.values[i:j]
                pick = {"max_over_time": max, "min_over_time": min}.get(name)
                out[series_labels] = pick(values) if pick else sum(values) / len(values)
        return out

    def _AggregateExpr(self, e: Any) -> Vector:
        op = str(e.op)
        if e.param is not None:
            raise Unsupported(f"{op} with a parameter")
        groups: dict[Labels, list[float]] = {}
        for series_labels, value in self._vector(e.expr).items():
            groups.setdefault(_group_key(series_labels, e.modifier), []).append(value)
        reduce = {
            "sum": sum,
            "max": max,
            "min": min,
            "count": len,
            "avg": lambda values: sum(values) / len(values),
        }.get(op)
        if reduce is None:
            raise Unsupported(f"aggregation {op}")
        return {key: float(reduce(values)) for key, values in groups.items()}

    def _BinaryExpr(self, e: Any) -> Vector | float:
        op = str(e.op)
        lhs, rhs = self.eval(e.lhs), self.eval(e.rhs)
        modifier = e.modifier
        if op in ("and", "or", "unless"):
            if isinstance(lhs, float) or isinstance(rhs, float):
                raise Unsupported(f"{op} with a scalar")
            return _set_operation(op, lhs, rhs, modifier)
        return_bool = bool(modifier is not None and modifier.return_bool)
        if return_bool:
            raise Unsupported("bool modifier")
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in _COMPARISONS:
                raise Unsupported("scalar comparison without bool")
            return _arithmetic(op, lhs, rhs)
        if isinstance(rhs, float) or isinstance(lhs, float):
            return _with_scalar(op, lhs, rhs)
        return _vector_vector(op, lhs, rhs, modifier)

    def _vector(self, e: Any) -> Vector:
        value = self.eval(e)
        if isinstance(value, float):
            raise Unsupported("a scalar where a vector is needed")
        return value

    def _scalar(self, e: Any) -> float:
        value = self.eval(e)
        if not isinstance(value, float):
            raise Unsupported("a vector where a scalar is needed")
        return value


_COMPARISONS = {">", "<", ">=", "<=", "==", "!="}


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration(text: str) -> float:
    """A Prometheus duration (`90s`, `1h30m`, `0s`) in seconds; ValueError if it is not one."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT[u] for n, u in parts)


def _seconds(duration: Any) -> float:
    if duration is None:
        return 0.0
    if hasattr(duration, "total_seconds"):
        return float(duration.total_seconds())
    raise Unsupported(f"offset {duration!r}")


def _extrapolated(series: _Series, start: float, end: float, *, counter: bool, rate: bool) -> float | None:
    """Prometheus' extrapolatedRate (promql/functions.go), for samples in (start, end]."""
    i, j = series.window(start, end)
    if j - i < 2:
        return None
    first_t, last_t = series.times[i], series.times[j - 1]
    first_v, last_v = series.values[i], series.values[j - 1]
    result = last_v - first_v
    if counter:
        result += series.resets[j - 1] - series.resets[i]
    sampled = last_t - first_t
    average_gap = sampled / (j - i - 1)
    to_start = first_t - start
    to_end = end - last_t
    if counter and result > 0 and first_v >= 0:
        # A counter does not extrapolate below zero.
        to_start = min(to_start, sampled * (first_v / result))
    threshold = average_gap * 1.1
    extrapolate_to = sampled
    extrapolate_to += to_start if to_start < threshold else average_gap / 2
    extrapolate_to += to_end if to_end < threshold else average_gap / 2
    result *= extrapolate_to / sampled
    return result / (end - start) if rate else result


def _group_key(series_labels: Labels, modifier: Any) -> Labels:
    if modifier is None:
        return frozenset()
    names = set(modifier.labels)
    if str(modifier.type) == "AggModifierType.By":
        return frozenset((k, v) for k, v in series_labels if k in names)
    return frozenset((k, v) for k, v in series_labels if k not in names)


def _signature(series_labels: Labels, modifier: Any) -> Labels:
    matching = modifier.matching if modifier is not None else None
    if matching is None:
        return series_labels
    names = set(matching.labels)
    if str(matching.type) == "LabelModifierType.Include":  # on(...)
        return frozenset((k, v) for k, v in series_labels if k in names)
    return frozenset((k, v) for k, v in series_labels if k not in names)


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return math.nan if a == 0 else math.copysign(math.inf, a)
        return a / b
    raise Unsupported(f"operator {op}")


def _compare(op: str, a: float, b: float) -> bool:
    return {
        ">": a > b,
        "<": a < b,
        ">=": a >= b,
        "<=": a <= b,
        "==": a == b,
        "!=": a != b,
    }[op]


def _with_scalar(op: str, lhs: Vector | float, rhs: Vector | float) -> Vector:
    vector_on_left = not isinstance(lhs, float)
    vector = lhs if vector_on_left else rhs
    assert not isinstance(vector, float)
    scalar = float(rhs if vector_on_left else lhs)  # type: ignore[arg-type]
    out: Vector = {}
    for series_labels, value in vector.items():
        a, b = (value, scalar) if vector_on_left else (scalar, value)
        if op in _COMPARISONS:
            if _compare(op, a, b):
                out[series_labels] = value
        else:
            out[series_labels] = _arithmetic(op, a, b)
    return out


def _vector_vector(op: str, lhs: Vector, rhs: Vector, modifier: Any) -> Vector:
    card = str(modifier.card) if modifier is not None else "VectorMatchCardinality.OneToOne"
    if card != "VectorMatchCardinality.OneToOne":
        raise Unsupported(f"{card} matching")
    right: dict[Labels, float] = {}
    for series_labels, value in rhs.items():
        key = _signature(series_labels, modifier)
        if key in right:
            raise ValueError(f"many-to-many matching: several right-hand series for {sorted(key)}")
        right[key] = value
    out: Vector = {}
    for series_labels, value in lhs.items():
        key = _signature(series_labels, modifier)
        if key not in right:
            continue
        if op in _COMPARISONS:
            if _compare(op, value, right[key]):
                out[series_labels] = value
            continue
        matching = modifier.matching if modifier is not None else None
        result_labels = (
            key
            if matching is not None and str(matching.type) == "LabelModifierType.Include"
            else (_signature(series_labels, modifier))
        )
        out[result_labels] = _arithmetic(op, value, right[key])
    return out


def _set_operation(op: str, lhs: Vector, rhs: Vector, modifier: Any) -> Vector:
    right = {_signature(k, modifier) for k in rhs}
    if op == "and":
        return {k: v for k, v in lhs.items() if _signature(k, modifier) in right}
    if op == "unless":
        return {k: v for k, v in lhs.items() if _signature(k, modifier) not in right}
    left = {_signature(k, modifier) for k in lhs}
    return {**lhs, **{k: v for k, v in rhs.items() if _signature(k, modifier) not in left}}


def _histogram_quantile(q: float, buckets: Vector) -> Vector:
    by_series: dict[Labels, list[tuple[float, float]]] = {}
    for series_labels, value in buckets.items():
        le = dict(series_labels).get("le")
        if le is None:
            continue
        rest = frozenset((k, v) for k, v in series_labels if k != "le")
        by_series.setdefault(rest, []).append((float(le), value))
    out: Vector = {}
    for key, points in by_series.items():
        points.sort()
        total = points[-1][1]
        if not points or points[-1][0] != math.inf or total <= 0:
            continue
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in points:
            if count >= rank:
                if bound == math.inf:
                    out[key] = lower_bound
                else:
                    out[key] = lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                        count - lower_count
                    )
                break
            lower_bound, lower_count = bound, count
    return out


def _label_replace(vector: Vector, target: str, replacement: str, source: str, regex: str) -> Vector:
    out: Vector = {}
    for series_labels, value in vector.items():
        values = dict(series_labels)
        found = re.fullmatch(regex, values.get(source, ""))
        if found is not None:
            values[target] = found.expand(replacement.replace("$", "\\"))
        out[frozenset(values.items())] = value
    return out


# --- rules ----------------------------------------------------------------------------------------


@dataclass
class _Alert:
    name: str
    expr: Any
    hold: float
    rule_labels: Mapping[str, str]
    active_since: dict[Labels, float] = field(default_factory=dict)


class Rules:
    """Recording rules and alerts of rule groups, evaluated at the instants given to `step`."""

    def __init__(self, groups: list[dict[str, Any]], store: Store, *, only: set[str] | None = None) -> None:
        self.store = store
        self._records: list[tuple[str, Any, Mapping[str, str]]] = []
        self._alerts: list[_Alert] = []
        for group in groups:
            for rule in group["rules"]:
                expr = pq.parse(rule["expr"])
                extra = rule.get("labels") or {}
                if "record" in rule:
                    self._records.append((rule["record"], expr, extra))
                elif only is None or rule["alert"] in only:
                    hold = duration(rule.get("for", "0s"))
                    self._alerts.append(_Alert(rule["alert"], expr, hold, extra))

    def step(self, t: float) -> dict[str, set[Labels]]:
        """Evaluate every rule at t; returns the alerts firing then, by name, with their label sets."""
        for name, expr, extra in self._records:
            for series_labels, value in _as_vector(evaluate(expr, self.store, t)).items():
                self.store.add(name, frozenset({**dict(series_labels), **extra}.items()), t, value)
        firing: dict[str, set[Labels]] = {}
        for alert in self._alerts:
            result = _as_vector(evaluate(alert.expr, self.store, t))
            now = {frozenset({**dict(k), **alert.rule_labels}.items()) for k in result}
            alert.active_since = {k: alert.active_since.get(k, t) for k in now}
            held = {k for k, since in alert.active_since.items() if t - since >= alert.hold}
            if held:
                firing[alert.name] = held
        return firing


def _as_vector(value: Vector | float) -> Vector:
    return {frozenset(): value} if isinstance(value, float) else value
