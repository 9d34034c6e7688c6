"""Ed25519 public-key policy: canonical encodings of points that are not of small order."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from passport.core.errors import InvalidKey

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1)

Point = tuple[int, int]


def _decompress(raw: bytes) -> Point:
    """Decode a 32-byte encoding to affine (x, y), refusing non-canonical encodings."""
    if len(raw) != 32:
        raise InvalidKey(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    encoded = int.from_bytes(raw, "little")
    sign = encoded >> 255
    y = encoded & ((1 << 255) - 1)
    if y >= _P:
        raise InvalidKey("Ed25519 public key is non-canonical: y is not reduced modulo p")
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    # Candidate square root of u/v with a single exponentiation (RFC 8032 §5.1.3).
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    check = v * x * x % _P
    if check == (-u) % _P and check != u:
        x = x * _SQRT_M1 % _P
    elif check != u:
        raise InvalidKey("Ed25519 public key is not a point on the curve")
    if x == 0 and sign:
        raise InvalidKey("Ed25519 public key is non-canonical: x is zero but the sign bit is set")
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: Point, b: Point) -> Point:
    """Add two points with the complete affine twisted Edwards formulas (a = -1)."""
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def check_public_key(raw: bytes) -> None:
    """Raise InvalidKey unless `raw` canonically encodes an Ed25519 point of large order."""
    point = _decompress(raw)
    for _ in range(3):
        point = _add(point, point)
    # The curve's cofactor is 8, so exactly the small-order points vanish when multiplied by 8.
    if point == _IDENTITY:
        raise InvalidKey("Ed25519 public key has small order")


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """Return the raw 32-byte encoding of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
