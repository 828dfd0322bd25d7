"""Small statistics for the bench: medians, quartiles, a bootstrap interval.

Kept in the standard library so that `make bench` needs nothing beyond the
profilers it measures.
"""

from __future__ import annotations

import random
from typing import List, Sequence, Tuple


def percentile(values: Sequence[float], fraction: float) -> float:
    """The fraction-quantile by linear interpolation between order statistics."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5)


def iqr(values: Sequence[float]) -> Tuple[float, float]:
    """The 25th and 75th percentiles."""
    return percentile(values, 0.25), percentile(values, 0.75)


def bootstrap_median_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 1
) -> Tuple[float, float]:
    """A percentile-bootstrap confidence interval for the median.

    With very few values the interval is wide, as it should be; with one value
    it is that value.
    """
    if len(values) < 2:
        return values[0], values[0]
    rng = random.Random(seed)
    medians: List[float] = []
    for _ in range(resamples):
        medians.append(median([rng.choice(values) for _ in values]))
    tail = (1 - level) / 2
    return percentile(medians, tail), percentile(medians, 1 - tail)
