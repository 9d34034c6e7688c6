"""C2SP signed notes and tlog-checkpoints with Ed25519 (Go `sumdb/note` key formats)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from passport.core.ed25519 import check_public_key
from passport.core.errors import InvalidKey, LedgerInconsistent, SignatureInvalid

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_NOTE = 1 << 20  # verifiers may refuse larger notes; ours are a few hundred bytes
MAX_SIGNATURES = 100


def key_id(name: str, public_key: bytes) -> bytes:
    """Return SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise InvalidKey(f"bad key name {name!r}: non-empty, no spaces or '+'")


def verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key text `name+hex(keyid)+base64(0x01 ‖ key)`."""
    _check_name(name)
    blob = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """Parse a verifier key strictly; return (name, raw Ed25519 public key)."""
    parts = text.strip().split("+", 2)  # base64 may contain '+'
    if len(parts) != 3:
        raise InvalidKey("a verifier key is name+keyid+key")
    name, hex_id, blob_b64 = parts
    _check_name(name)
    try:
        blob = base64.b64decode(blob_b64, validate=True)
    except binascii.Error:
        raise InvalidKey("verifier key is not base64") from None
    if len(blob) != 33 or blob[0] != ALG_ED25519:
        raise InvalidKey("verifier key is not an Ed25519 key")
    public_key = blob[1:]
    check_public_key(public_key)
    if hex_id != key_id(name, public_key).hex():
        raise InvalidKey("verifier key id does not match its name and key")
    return name, public_key


def signer_key(name: str, seed: bytes) -> str:
    """Return the signer key text `PRIVATE+KEY+name+hex(keyid)+base64(0x01 ‖ seed)`."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    blob = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id(name, public).hex()}+{blob}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """Parse a signer key; return (name, private key)."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise InvalidKey("a signer key is PRIVATE+KEY+name+keyid+key")
    name, hex_id, blob_b64 = parts[2:]
    blob = base64.b64decode(blob_b64, validate=True)
    if len(blob) != 33 or blob[0] != ALG_ED25519:
        raise InvalidKey("signer key is not an Ed25519 key")
    key = Ed25519PrivateKey.from_private_bytes(blob[1:])
    if hex_id != key_id(name, key.public_key().public_bytes_raw()).hex():
        raise InvalidKey("signer key id does not match")
    return name, key


def sign_note(body: bytes, *, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """Return `body` followed by a blank line and one signature line by `name`."""
    _check_body(body)
    public = private_key.public_key().public_bytes_raw()
    blob = key_id(name, public) + private_key.sign(body)
    return body + f"\n{EM_DASH} {name} {base64.b64encode(blob).decode()}\n".encode()


def _check_body(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerInconsistent("note text is not UTF-8") from None
    if not text.endswith("\n") or "\n\n" in text or any(c < " " and c != "\n" for c in text):
        raise LedgerInconsistent("note text must end in a newline, without blank lines or controls")


def verify_note(note: bytes, *, name: str, public_key: bytes) -> bytes:
    """Return the note's text once a signature line by this key verifies; else raise."""
    if len(note) > MAX_NOTE:
        raise SignatureInvalid("note is too large")
    split = note.rfind(b"\n\n")
    if split < 0:
        raise SignatureInvalid("note has no signature block")
    body, block = note[: split + 1], note[split + 2 :]
    try:
        _check_body(body)
        lines = block.decode("utf-8")
    except (LedgerInconsistent, UnicodeDecodeError) as exc:
        raise SignatureInvalid(f"malformed note: {exc}") from None
    if not lines.endswith("\n"):
        raise SignatureInvalid("signature block must end in a newline")
    wanted = key_id(name, public_key)
    signature_lines = lines[:-1].split("\n")
    if len(signature_lines) > MAX_SIGNATURES:
        raise SignatureInvalid("note has too many signatures")
    found = None
    for line in signature_lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not parts[1]:
            raise SignatureInvalid(f"malformed signature line {line!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise SignatureInvalid("signature is not base64") from None
        if len(blob) < 5 or base64.b64encode(blob).decode() != parts[2]:
            raise SignatureInvalid("signature is not canonical base64 of key id and signature")
        if parts[1] == name and blob[:4] == wanted:
            if found is not None:
                raise SignatureInvalid("note is signed twice by the same key")
            found = blob[4:]
    if found is None:
        raise SignatureInvalid(f"note has no signature by {name}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(found, body)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("note signature does not verify") from None
    return body


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        """Return the checkpoint text that is signed."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return ("\n".join([*lines, *self.extensions]) + "\n").encode()


def parse_checkpoint_body(body: bytes) -> Checkpoint:
    """Parse checkpoint text strictly."""
    lines = body.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise LedgerInconsistent("checkpoint needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not origin:
        raise LedgerInconsistent("checkpoint origin is empty")
    if (
        not size_text.isdigit()
        or not size_text.isascii()
        or (size_text != "0" and size_text[0] == "0")
    ):
        raise LedgerInconsistent("checkpoint size is not a decimal without leading zeros")
    try:
        root_hash = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise LedgerInconsistent("checkpoint root is not base64") from None
    if len(root_hash) != 32 or base64.b64encode(root_hash).decode() != root_text:
        raise LedgerInconsistent("checkpoint root is not canonical base64 of 32 bytes")
    return Checkpoint(origin, int(size_text), root_hash, tuple(lines[3:-1]))


def open_checkpoint(note: bytes, *, name: str, public_key: bytes) -> Checkpoint:
    """Verify a signed checkpoint and return it; its origin must be the key's name."""
    checkpoint = parse_checkpoint_body(verify_note(note, name=name, public_key=public_key))
    if checkpoint.origin != name:
        raise LedgerInconsistent(f"checkpoint origin {checkpoint.origin!r} is not {name!r}")
    return checkpoint
