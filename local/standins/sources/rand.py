"""Deterministic randomness: seeded numpy generators and counter-based hashes.

Bulk history uses ``numpy.random.Generator`` streams keyed by (seed, tenant, purpose). Things
the change stream must decide later about an existing row (when a job starts, whether it is
mirrored in ServiceTitan, where a GPS fix lies) use :func:`uniform`, a SplitMix64 hash of the
row's identity: random access, no state to persist, same answer in every process.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream(seed: int, *keys: int | str) -> np.random.Generator:
    """An independent PCG64 generator for (seed, keys); strings are hashed with CRC32."""
    entropy = [seed, *(zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _mix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash64(seed: int, salt: str, *keys: np.ndarray | int) -> np.ndarray:
    """A 64-bit hash per element of the broadcast ``keys`` (int arrays), seeded and salted."""
    start = np.uint64((seed * 1_000_003 + zlib.crc32(salt.encode())) & 0xFFFFFFFFFFFFFFFF)
    h = _mix(np.asarray(start, dtype=np.uint64))
    for key in keys:
        h = _mix(h ^ np.asarray(key).astype(np.int64).view(np.uint64))
    return np.atleast_1d(h)


def uniform(seed: int, salt: str, *keys: np.ndarray | int) -> np.ndarray:
    """Uniform floats in [0, 1) that depend only on (seed, salt, keys)."""
    return (hash64(seed, salt, *keys) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(seed: int, salt: str, *keys: np.ndarray | int) -> np.ndarray:
    """Standard normal floats from two hashed uniforms (Box-Muller)."""
    u1 = uniform(seed, salt + ":1", *keys)
    u2 = uniform(seed, salt + ":2", *keys)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def choice(u: np.ndarray, weights: np.ndarray | list[float]) -> np.ndarray:
    """Indices drawn by inverse CDF from uniforms ``u`` with the given relative weights."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(cdf) - 1)
