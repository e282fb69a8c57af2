"""The random draws of `sample:`, reproducible from its seed alone.

Draw k has its own generator, `random.Random("ttwriter-sample:<seed>:<k>")`: Python seeds a
`Random` from a string through SHA-512 (seeding version 2), so the stream depends neither on
PYTHONHASHSEED nor on the platform, and draw k can be made on its own (a run's params in
microseconds, whatever k is; nothing kept per draw). Only `random()` is used, a Mersenne Twister
double that every CPython computes identically; the values are derived from it here, not by
`randrange`/`uniform`, whose implementations may change between Python versions. Each key takes
one number of its draw's stream, in the order the keys are written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from ttwriter.experiment.sample import Distribution


def draw(seed: int, k: int, distributions: Mapping[str, Distribution]) -> dict[str, Any]:
    """Draw `k` (0-based) of every sampled key: key as written -> value."""
    rng = random.Random(f"ttwriter-sample:{seed}:{k}")
    return {key: value(d, rng.random()) for key, d in distributions.items()}


def value(d: Distribution, u: float) -> Any:
    """The value of distribution `d` at `u` in [0, 1), rounded as `d` asks."""
    if d.kind == "choice":
        return d.args[min(int(u * len(d.args)), len(d.args) - 1)]
    low, high = d.args
    if d.kind == "int_uniform":
        return low + min(int(u * (high - low + 1)), high - low)
    if d.kind == "log_uniform":
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        x = low + u * (high - low)
    x = min(max(float(x), float(low)), float(high))
    if d.round is not None:
        return round(x, d.round)
    if d.digits is not None and x != 0:
        return float(f"{x:.{d.digits - 1}e}")
    return x
