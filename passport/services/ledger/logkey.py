"""The log's own Ed25519 key (separate from every organisation key) and its witness file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.errors import InvalidKey, NotFound
from passport.core.log.note import verifier_key
from passport.store.keystore import raw_public

LOG_DIR = "_log"  # not a valid organisation slug, so it can never clash with one
KEY_FILE = "log-key.pem"
WITNESS_FILE = "latest-checkpoint"


def origin_for(base_url: str) -> str:
    """Return the checkpoint origin, the log's schema-less URL (`dpp.example.nl/ledger`)."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/ledger"


@dataclass(frozen=True, slots=True)
class LogKey:
    """The log's signing key and the name its notes are signed under."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """Return the raw public key."""
        return raw_public(self.private_key)

    @property
    def verifier(self) -> str:
        """Return the C2SP/note verifier key an auditor pins."""
        return verifier_key(self.name, self.public_key)


def _write_once(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def ensure_log_key(keys_dir: Path, passphrase: bytes) -> None:
    """Create the log key under `keys_dir/_log/` unless it exists."""
    folder = keys_dir / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (folder / KEY_FILE).exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
        _write_once(folder / KEY_FILE, pem)


def load_log_key(keys_dir: Path, passphrase: bytes, base_url: str) -> LogKey:
    """Load the log key; `dpp init` creates it."""
    path = keys_dir / LOG_DIR / KEY_FILE
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no log key at {path}: run `dpp init`") from None
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"cannot decrypt {path}: wrong DPP_KEY_PASSPHRASE?") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKey(f"{path} is not an Ed25519 key")
    return LogKey(name=origin_for(base_url), private_key=key)


def read_witness(keys_dir: Path) -> bytes | None:
    """Return the last checkpoint this log key signed, as kept beside the key."""
    try:
        return (keys_dir / LOG_DIR / WITNESS_FILE).read_bytes()
    except FileNotFoundError:
        return None


def write_witness(keys_dir: Path, note: bytes) -> None:
    """Durably replace the kept checkpoint (write, fsync, rename)."""
    folder = keys_dir / LOG_DIR
    tmp = folder / f".{WITNESS_FILE}.{os.getpid()}"
    with tmp.open("wb") as handle:
        handle.write(note)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, folder / WITNESS_FILE)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
