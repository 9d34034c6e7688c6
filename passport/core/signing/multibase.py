"""Base58btc multibase encoding of Ed25519 Multikeys and signatures."""

from __future__ import annotations

from passport.core.errors import InvalidInput, InvalidKey, PassportError, SignatureInvalid

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INVALID = 255
# Maps each alphabet byte to its digit value and every other byte to _INVALID.
_DIGITS = bytes(_ALPHABET.encode().find(bytes([b])) % 256 for b in range(256))
_BASE58BTC = "z"
# Multicodec varints: ed25519-pub 0xed and ed25519-priv 0x1300.
ED25519_PUB_HEADER = b"\xed\x01"
# Base58 decoding is quadratic in the input length; nothing we accept is anywhere near this long.
_MAX_CHARS = 128


# Encoding takes ten digits at a time off the big number, and each ten as five pairs of
# digits from a table: a tenth of the big-number divisions of digit-by-digit encoding.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_PAIR = 58 * 58
_TEN_DIGITS = 58**10


def b58encode(data: bytes) -> str:
    """Encode bytes as base58 with the bitcoin alphabet."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    groups: list[int] = []
    while number:
        number, rest = divmod(number, _TEN_DIGITS)
        groups.append(rest)
    text: list[str] = []
    for group in reversed(groups):
        high, group = divmod(group, _PAIR**4)
        third, group = divmod(group, _PAIR**3)
        second, group = divmod(group, _PAIR**2)
        first, last = divmod(group, _PAIR)
        text.append(_PAIRS[high] + _PAIRS[third] + _PAIRS[second] + _PAIRS[first] + _PAIRS[last])
    # The leading group is padded with zero digits ("1"); each leading zero byte is one "1".
    return "1" * zeros + "".join(text).lstrip("1")


def b58decode(text: str) -> bytes:
    """Decode bitcoin-alphabet base58 text to bytes."""
    digits = text.encode("ascii", "replace").translate(_DIGITS)
    if _INVALID in digits:
        bad = text[digits.index(_INVALID)]
        raise InvalidInput(f"not a base58btc character: {bad!r}")
    number = 0
    for digit in digits:  # iterating bytes: no per-character dict lookup
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _decode_z(value: str, *, what: str, error: type[PassportError]) -> bytes:
    if not isinstance(value, str) or not value.startswith(_BASE58BTC):
        raise error(f"{what} must be a multibase base58btc string starting with 'z'")
    if len(value) > _MAX_CHARS:
        raise error(f"{what} is too long")
    try:
        return b58decode(value[1:])
    except InvalidInput as exc:
        raise error(f"{what} is not valid base58btc: {exc.detail}") from exc


def encode_multikey(public_key: bytes) -> str:
    """Encode a raw 32-byte Ed25519 public key as a Multikey `publicKeyMultibase` value."""
    if len(public_key) != 32:
        raise InvalidKey(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    return _BASE58BTC + b58encode(ED25519_PUB_HEADER + public_key)


def decode_multikey(value: str) -> bytes:
    """Decode a Multikey `publicKeyMultibase` value to the raw 32-byte Ed25519 public key."""
    data = _decode_z(value, what="publicKeyMultibase", error=InvalidKey)
    if not data.startswith(ED25519_PUB_HEADER):
        raise InvalidKey("publicKeyMultibase is not an ed25519-pub multicodec key")
    raw = data[len(ED25519_PUB_HEADER) :]
    if len(raw) != 32:
        raise InvalidKey(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
    return raw


def encode_signature(sig: bytes) -> str:
    """Encode a 64-byte Ed25519 signature as a multibase base58btc `proofValue`."""
    if len(sig) != 64:
        raise SignatureInvalid(f"Ed25519 signature must be 64 bytes, got {len(sig)}")
    return _BASE58BTC + b58encode(sig)


def decode_signature(value: str) -> bytes:
    """Decode a multibase base58btc `proofValue` to a 64-byte Ed25519 signature."""
    sig = _decode_z(value, what="proofValue", error=SignatureInvalid)
    if len(sig) != 64:
        raise SignatureInvalid(f"proofValue must decode to 64 bytes, got {len(sig)}")
    return sig
