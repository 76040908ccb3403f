"""ES256 (ECDSA P-256, SHA-256) signature verification in plain Python.

The pinned venv has no crypto package (PyJWT and cryptography are not in tools/requirements.txt),
and verifying needs only public values, so there is no secret for timing to leak. Swap in a
library verifier through jwt.TokenVerifier once one is pinned.
"""

from __future__ import annotations

import hashlib

# NIST P-256 domain parameters (FIPS 186-4, D.1.2.3).
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)

Point = tuple[int, int] | None  # None is the point at infinity


def on_curve(q: tuple[int, int]) -> bool:
    """True when q is a point of P-256 with coordinates in range."""
    x, y = q
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _mul(k: int, q: Point) -> Point:
    acc: Point = None
    while k:
        if k & 1:
            acc = _add(acc, q)
        q = _add(q, q)
        k >>= 1
    return acc


def verify(public: tuple[int, int], message: bytes, signature: bytes) -> bool:
    """Checks a JWS ES256 signature (r || s, 32 bytes each) of message under public (x, y)."""
    if len(signature) != 64 or not on_curve(public):
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    point = _add(_mul(e * w % N, G), _mul(r * w % N, public))
    return point is not None and point[0] % N == r
