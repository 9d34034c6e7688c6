"""Log verification written for the tests from RFC 9162 §2.1 and C2SP signed-note, sharing no code.

Used to check what the service serves over HTTP the way a witness or monitor would.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Rejected(Exception):
    """The proof, root or note is wrong."""


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _hashes(*values: bytes) -> None:
    """Every hash a verifier is given is 32 bytes (SHA-256)."""
    if any(len(value) != 32 for value in values):
        raise Rejected("a hash is not 32 bytes")


def leaf(entry: bytes) -> bytes:
    """RFC 9162 leaf hash."""
    return _h(b"\x00" + entry)


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, by the recursive definition (k = largest power of 2 < n)."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: list[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2."""
    _hashes(leaf_hash, root, *proof)
    if index >= size:
        raise Rejected("index >= size")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise Rejected("proof too long")
        if fn & 1 or fn == sn:
            r = _h(b"\x01" + p + r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise Rejected("inclusion proof does not verify")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> None:
    """RFC 9162 §2.1.4.2 (proofs exist for 0 < first <= second)."""
    if first <= 0:
        raise Rejected("no consistency proof from an empty tree")
    if first == second:
        if proof or first_root != second_root:
            raise Rejected("equal sizes need an empty proof and equal roots")
        return
    _hashes(first_root, second_root, *proof)
    if first > second or not proof:
        raise Rejected("bad sizes or empty proof")
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: first_root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Rejected("proof too long")
        if fn & 1 or fn == sn:
            fr = _h(b"\x01" + c + fr)
            sr = _h(b"\x01" + c + sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise Rejected("consistency proof does not verify")


def open_note(note: bytes, verifier_key: str) -> tuple[str, int, bytes]:
    """Verify a C2SP checkpoint note under a Go-style verifier key; return (origin, size, root)."""
    name, key_hex, key_b64 = verifier_key.split("+", 2)  # base64 may hold "+"
    raw = base64.b64decode(key_b64)
    if raw[0] != 1:
        raise Rejected("not an Ed25519 verifier key")
    key_id = _h(name.encode() + b"\n" + raw)[:4]
    if key_id.hex() != key_hex:
        raise Rejected("key id does not match")
    text = note.decode()
    body, sep, signatures = text.rpartition("\n\n")
    if not sep:
        raise Rejected("no signature block")
    body += "\n"
    for line in signatures.rstrip("\n").split("\n"):
        dash, signer, sig_b64 = line.split(" ")
        blob = base64.b64decode(sig_b64)
        if dash == "\u2014" and signer == name and blob[:4] == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(blob[4:], body.encode())
            except Exception as exc:
                raise Rejected("note signature does not verify") from exc
            origin, size, root_b64 = body.split("\n")[:3]
            return origin, int(size), base64.b64decode(root_b64)
    raise Rejected("no signature by this key")
