"""Ed25519 edge cases (as in C2SP CCTV) pin the public-key policy applied when a key is registered.

The CCTV vectors were published without a licence, so they are not vendored. The few public keys
the policy needs are derived here from the curve instead, as CCTV's README describes them: the 8
points of small order in their canonical encodings, the non-canonical encodings of those points
(y ≥ p, or x = 0 with the sign bit set), and keys of large order with a small-order component,
which the policy accepts. This gives the same 14 rejected and 8 accepted keys the CCTV file holds.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from passport.core.errors import InvalidKey
from passport.core.signing.ed25519 import check_public_key, public_key_bytes

P = 2**255 - 19
D = -121665 * pow(121666, -1, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1)

Point = tuple[int, int]

# The canonical encodings of the 8 small-order points (the torsion subgroup, of order the cofactor
# 8): order 1, y = 1; order 2, y = -1; order 4, y = 0 and x = ±√-1; order 8, y² = (-1 ± √(1+d))/d.
# Written out so a wrong derivation cannot go unnoticed: the rejection test re-derives them.
SMALL_ORDER_ENCODINGS = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}

# RFC 8032 §7.1 TEST 1 public key: a point of large (prime) order.
RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def _sqrt(n: int) -> int | None:
    """Return a square root of n modulo p, or None when n is not a square (p ≡ 5 mod 8)."""
    root = pow(n, (P + 3) // 8, P)
    if root * root % P != n % P:
        root = root * SQRT_M1 % P
    return root if root * root % P == n % P else None


def _on_curve(point: Point) -> bool:
    x, y = point
    return (-x * x + y * y - 1 - D * x * x * y * y) % P == 0


def _add(a: Point, b: Point) -> Point:
    """Add two points (complete twisted Edwards addition, a = -1)."""
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return (
        (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P,
        (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P,
    )


def _order(point: Point) -> int:
    """Return the order of a point of order at most 8, or 0 when it is larger."""
    acc = point
    for n in range(1, 9):
        if acc == IDENTITY:
            return n
        acc = _add(acc, point)
    return 0


def _encode(point: Point) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _decode(raw: bytes) -> Point:
    """Decode a canonical encoding (only used on keys known to be valid)."""
    encoded = int.from_bytes(raw, "little")
    y = encoded & ((1 << 255) - 1)
    x = _sqrt((y * y - 1) * pow(D * y * y + 1, -1, P) % P)
    assert x is not None
    if x & 1 != encoded >> 255:
        x = P - x
    return x, y


def small_order_points() -> list[Point]:
    """Derive the 8 points of order dividing 8 (the curve's cofactor) from the curve equation."""
    points = [IDENTITY, (0, P - 1)]  # x = 0 gives y² = 1
    points += [(SQRT_M1, 0), (P - SQRT_M1, 0)]  # y = 0 gives -x² = 1
    # Doubling (x, y) lands on y = 0 exactly when y² = -x², so x = ±√-1·y and, on the curve,
    # d·y⁴ + 2y² - 1 = 0: y² = (-1 ± √(1 + d)) / d.
    root = _sqrt(1 + D)
    assert root is not None
    for y_squared in ((-1 + root) * pow(D, -1, P) % P, (-1 - root) * pow(D, -1, P) % P):
        y = _sqrt(y_squared)
        if y is None:
            continue
        for signed_y in (y, P - y):
            for x in (SQRT_M1 * signed_y % P, (P - SQRT_M1) * signed_y % P):
                points.append((x, signed_y))
    return points


def non_canonical_encodings(points: list[Point]) -> set[bytes]:
    """Return the other encodings of `points`: y + p below 2²⁵⁵, or a sign bit on x = 0."""
    canonical = {_encode(point) for point in points}
    variants = set()
    for _, y in points:
        for y_encoded in (y, y + P):
            for sign in (0, 1):
                if y_encoded < 2**255:
                    variants.add((y_encoded | sign << 255).to_bytes(32, "little"))
    return variants - canonical


def _keys_by_verdict() -> tuple[set[bytes], set[bytes]]:
    small = small_order_points()
    rejected = {_encode(point) for point in small} | non_canonical_encodings(small)
    # A large-order key plus each small-order point: of large order, so the policy accepts it.
    large = _decode(bytes.fromhex(RFC8032_TEST1_PUBLIC))
    accepted = {_encode(_add(large, torsion)) for torsion in small}
    assert not rejected & accepted
    return rejected, accepted


def test_low_order_and_non_canonical_keys_are_rejected() -> None:
    points = small_order_points()
    assert all(_on_curve(point) for point in points)
    assert sorted(_order(point) for point in points) == [1, 2, 4, 4, 8, 8, 8, 8]
    assert {_encode(point).hex() for point in points} == SMALL_ORDER_ENCODINGS
    # y = p and y = p + 1 (with and without the sign bit), and the sign bit on y = 1 and y = -1.
    assert {raw.hex() for raw in non_canonical_encodings(points)} == {
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    }
    rejected, _ = _keys_by_verdict()
    assert len(rejected) == 14
    for key in rejected:
        # Each key is refused for its own defect, so no check can hide behind another.
        reason = "small order" if key.hex() in SMALL_ORDER_ENCODINGS else "non-canonical"
        with pytest.raises(InvalidKey, match=reason):
            check_public_key(key)


def test_other_keys_are_accepted() -> None:
    _, accepted = _keys_by_verdict()
    assert len(accepted) == 8
    assert sum(_order(_decode(key)) == 0 for key in accepted) == 8
    for key in accepted:
        check_public_key(key)


def test_fresh_key_is_accepted() -> None:
    raw = public_key_bytes(Ed25519PrivateKey.generate().public_key())
    check_public_key(raw)
    assert public_key_bytes(Ed25519PublicKey.from_public_bytes(raw)) == raw


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x01" * 31, "32 bytes"),
        (b"\xff" * 31 + b"\x7f", "not reduced"),
        ((1).to_bytes(32, "little"), "small order"),
        ((2).to_bytes(32, "little"), "not a point"),
        ((1 | 1 << 255).to_bytes(32, "little"), "sign bit"),
    ],
)
def test_each_rejection_names_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason):
        check_public_key(raw)
