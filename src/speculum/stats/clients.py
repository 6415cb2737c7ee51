"""Unique clients per day without keeping any address: a HyperLogLog sketch.

Addresses are hashed with BLAKE2b keyed by a random per-store secret, so the
registers say nothing about a given address to whoever lacks the key, and
nothing reversible is stored. Adding an address twice changes nothing and
sketches merge by register-wise max, so a day's sketch over several projects
(or re-ingested lines) still counts each client once. Precision 12: 4 KiB a
sketch, ~1.6 % standard error.
"""

from __future__ import annotations

import math
from hashlib import blake2b

P = 12
M = 1 << P
_LOW_BITS = 64 - P
_LOW_MASK = (1 << _LOW_BITS) - 1


def empty() -> bytearray:
    return bytearray(M)


def add(registers: bytearray, addresses, key: bytes) -> None:
    """Fold client addresses (bytes) into the sketch, in place."""
    for address in addresses:
        h = int.from_bytes(blake2b(address, digest_size=8, key=key).digest(), "big")
        index, rest = h >> _LOW_BITS, h & _LOW_MASK
        rank = _LOW_BITS - rest.bit_length() + 1  # position of the first 1-bit
        if rank > registers[index]:
            registers[index] = rank


def merge(a: bytes | bytearray, b: bytes | bytearray) -> bytearray:
    return bytearray(map(max, a, b))


def estimate(registers: bytes | bytearray) -> int:
    """Cardinality estimate, with linear counting for small sets."""
    zeros = registers.count(0)
    if zeros:
        linear = M * math.log(M / zeros)
        if linear <= 2.5 * M:
            return round(linear)
    alpha = 0.7213 / (1 + 1.079 / M)
    return round(alpha * M * M / sum(2.0 ** -r for r in registers))
