"""Read the W3C vectors' private Multikey: the service itself never reads private multikeys."""

from __future__ import annotations

from passport.core.signing.multibase import b58decode

ED25519_PRIV_HEADER = b"\x80\x26"  # the multicodec varint of ed25519-priv (0x1300)


def decode_private_multikey(value: str) -> bytes:
    """Return the 32-byte Ed25519 seed of a `privateKeyMultibase` value (base58btc, 'z')."""
    assert value.startswith("z"), value
    data = b58decode(value[1:])
    assert data.startswith(ED25519_PRIV_HEADER), data[:2].hex()
    seed = data[len(ED25519_PRIV_HEADER) :]
    assert len(seed) == 32, len(seed)
    return seed
