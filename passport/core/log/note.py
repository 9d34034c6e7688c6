"""C2SP signed notes and tlog-checkpoints with Ed25519 (Go `sumdb/note` key formats)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from passport.core.errors import InvalidInput, InvalidKey, LedgerInconsistent, SignatureInvalid
from passport.core.signing.ed25519 import check_public_key

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
# The spec asks verifiers to accept at least 16 signatures of up to ~5 kB; ours are ~100 bytes.
MAX_NOTE = 1 << 20
MAX_SIGNATURES = 100
MAX_SIZE = 2**64 - 1


def key_id(name: str, public_key: bytes) -> bytes:
    """Return SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _valid_name(name: str) -> bool:
    return bool(name) and name.isprintable() and not any(c.isspace() or c == "+" for c in name)


def _check_name(name: str) -> None:
    if not _valid_name(name):
        raise InvalidKey(f"bad key name {name!r}: it must be non-empty, without spaces or '+'")


def _b64decode(text: str, error: type[Exception], what: str) -> bytes:
    """Decode standard base64, refusing anything but its one canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise error(f"{what} is not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise error(f"{what} is not canonical base64")
    return raw


def _ed25519_blob(text: str, what: str) -> bytes:
    blob = _b64decode(text, InvalidKey, what)
    if len(blob) != 33 or blob[0] != ALG_ED25519:
        raise InvalidKey(f"{what} is not an Ed25519 key")
    return blob[1:]


def verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key text `name+hex(keyid)+base64(0x01 ‖ key)`."""
    _check_name(name)
    blob = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{blob}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """Parse a verifier key strictly; return (name, raw Ed25519 public key)."""
    parts = text.split("+", 2)  # the base64 key may itself contain '+'
    if len(parts) != 3:
        raise InvalidKey("a verifier key is name+keyid+key")
    name, hex_id, blob = parts
    _check_name(name)
    public_key = _ed25519_blob(blob, "verifier key")
    check_public_key(public_key)
    if hex_id != key_id(name, public_key).hex():
        raise InvalidKey("verifier key id does not match its name and key")
    return name, public_key


def signer_key(name: str, seed: bytes) -> str:
    """Return the signer key text `PRIVATE+KEY+name+hex(keyid)+base64(0x01 ‖ seed)`."""
    _check_name(name)
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    blob = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id(name, public).hex()}+{blob}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """Parse a signer key strictly; return (name, private key)."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise InvalidKey("a signer key is PRIVATE+KEY+name+keyid+key")
    name, hex_id, blob = parts[2:]
    _check_name(name)
    key = Ed25519PrivateKey.from_private_bytes(_ed25519_blob(blob, "signer key"))
    if hex_id != key_id(name, key.public_key().public_bytes_raw()).hex():
        raise InvalidKey("signer key id does not match its name and key")
    return name, key


def _check_text(text: bytes, error: type[Exception]) -> str:
    """Decode note text: UTF-8, no control characters but newline, ending in a newline."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise error("note is not UTF-8") from None
    if any(c < " " and c != "\n" for c in decoded):
        raise error("note contains a control character other than newline")
    if not decoded.endswith("\n"):
        raise error("note text must end in a newline")
    return decoded


def sign_note(body: bytes, *, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """Return `body`, a blank line and one Ed25519 signature line by key `name`."""
    _check_name(name)
    _check_text(body, InvalidInput)
    public = private_key.public_key().public_bytes_raw()
    blob = key_id(name, public) + private_key.sign(body)
    return body + f"\n{EM_DASH} {name} {base64.b64encode(blob).decode()}\n".encode()


def verify_note(note: bytes, *, name: str, public_key: bytes) -> bytes:
    """Return the note text once its signature by this key verifies; raise otherwise."""
    check_public_key(public_key)
    if len(note) > MAX_NOTE:
        raise SignatureInvalid(f"note is larger than {MAX_NOTE} bytes")
    _check_text(note, SignatureInvalid)
    split = note.rfind(b"\n\n")  # the last blank line separates text from signatures
    if split < 0:
        raise SignatureInvalid("note has no blank line before its signatures")
    body, lines = note[: split + 1], note[split + 2 : -1].decode().split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise SignatureInvalid(f"note has more than {MAX_SIGNATURES} signatures")
    wanted, found = key_id(name, public_key), []
    for line in lines:
        dash, _, rest = line.partition(" ")
        signer, _, encoded = rest.partition(" ")
        if dash != EM_DASH or not _valid_name(signer) or not encoded:
            raise SignatureInvalid(f"malformed signature line {line!r}")
        blob = _b64decode(encoded, SignatureInvalid, "signature")
        if len(blob) < 5:
            raise SignatureInvalid("signature is shorter than a key id and one byte")
        # Only the name and key id together identify a key; a match on one alone is ignored.
        if signer == name and blob[:4] == wanted:
            found.append(blob[4:])
    if len(found) != 1:
        raise SignatureInvalid(f"note needs exactly one signature by {name}, has {len(found)}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(found[0], body)
    except InvalidSignature:
        raise SignatureInvalid(f"note signature by {name} does not verify") from None
    return body


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lines = (self.origin, *self.extensions)
        if not all(lines) or any(c < " " for line in lines for c in line):
            raise InvalidInput("checkpoint origin and extension lines must be non-empty text")
        if not 0 <= self.size <= MAX_SIZE or len(self.root_hash) != 32:
            raise InvalidInput("checkpoint needs a size below 2^64 and a 32-byte root hash")

    def body(self) -> bytes:
        """Return the checkpoint text that is signed."""
        root_line = base64.b64encode(self.root_hash).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root_line, *self.extensions)
        ).encode()


def parse_checkpoint_body(body: bytes) -> Checkpoint:
    """Parse checkpoint text strictly; raise LedgerInconsistent naming what is wrong."""
    lines = _check_text(body, LedgerInconsistent)[:-1].split("\n")
    if len(lines) < 3:
        raise LedgerInconsistent("checkpoint needs origin, size and root hash lines")
    origin, size_text, root_text = lines[:3]
    if not origin or not all(lines[3:]):
        raise LedgerInconsistent("checkpoint origin and extension lines must be non-empty")
    canonical = size_text.isascii() and size_text.isdigit() and len(size_text) <= 20
    if not canonical or (size_text != "0" and size_text[0] == "0") or int(size_text) > MAX_SIZE:
        raise LedgerInconsistent(
            "checkpoint size is not a decimal below 2^64 without leading zeros"
        )
    root_hash = _b64decode(root_text, LedgerInconsistent, "checkpoint root hash")
    if len(root_hash) != 32:
        raise LedgerInconsistent("checkpoint root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root_hash, tuple(lines[3:]))


def open_checkpoint(
    note: bytes, *, name: str, public_key: bytes, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse it; its origin must be `origin` (default: `name`)."""
    checkpoint = parse_checkpoint_body(verify_note(note, name=name, public_key=public_key))
    expected = name if origin is None else origin
    if checkpoint.origin != expected:
        raise LedgerInconsistent(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint
