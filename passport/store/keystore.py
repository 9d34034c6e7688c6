"""Encrypted Ed25519 private keys on disk (PKCS#8); the one place private keys are read."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from passport.core.errors import InvalidKey, NotFound
from passport.core.signing.ed25519 import check_public_key


def key_id_for(public_key: bytes) -> str:
    """Return the stable key id (`key-` + 16 hex digits of SHA-256) of a raw public key."""
    return "key-" + hashlib.sha256(public_key).hexdigest()[:16]


def raw_public(private_key: Ed25519PrivateKey) -> bytes:
    """Return the 32 raw bytes of a private key's public half."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


class KeyStore:
    """Encrypted PKCS#8 files under `directory/{slug}/{key_id}.pem`, decrypted once per process.

    An HSM or KMS can replace this class: services only call `generate`, `add` and `load`.
    """

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        self._dir = directory
        self._passphrase = passphrase
        self._cache: dict[str, Ed25519PrivateKey] = {}

    def generate(self, slug: str) -> tuple[str, bytes]:
        """Create and store a new key for `slug`; return its key id and raw public key."""
        return self.add(slug, Ed25519PrivateKey.generate())

    def add(self, slug: str, private_key: Ed25519PrivateKey) -> tuple[str, bytes]:
        """Store `private_key` encrypted for `slug` after checking its public key."""
        public = raw_public(private_key)
        check_public_key(public)
        key_id = key_id_for(public)
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        folder = self._dir / slug
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{key_id}.pem"
        # O_EXCL: a key file is written once and never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        self._cache[key_id] = private_key
        return key_id, public

    def load(self, slug: str, key_id: str) -> Ed25519PrivateKey:
        """Return the decrypted private key `key_id` of `slug`."""
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        path = self._dir / slug / f"{key_id}.pem"
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"private key {key_id} of {slug} is not in {self._dir}") from None
        try:
            key = serialization.load_pem_private_key(pem, password=self._passphrase)
        except (ValueError, TypeError) as exc:
            raise InvalidKey(f"cannot decrypt {path}: wrong DPP_KEY_PASSPHRASE?") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidKey(f"{path} is not an Ed25519 key")
        self._cache[key_id] = key
        return key


def load_private_key_file(data: bytes, password: bytes | None) -> Ed25519PrivateKey:
    """Parse a PEM or DER PKCS#8 Ed25519 private key being imported."""
    loaders = (serialization.load_pem_private_key, serialization.load_der_private_key)
    for loader in loaders:
        try:
            key = loader(data, password=password)
        except (ValueError, TypeError):
            continue
        if isinstance(key, Ed25519PrivateKey):
            return key
        raise InvalidKey("only Ed25519 private keys can be imported")
    raise InvalidKey("not a PKCS#8 private key (or the password is wrong)")
