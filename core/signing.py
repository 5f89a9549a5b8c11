"""Ed25519 signatures over canonical JSON, and the device's trust store.

The trust store is a folder of public keys named by key id. Only an explicit local step writes it
(``TrustStore.add``); nothing that arrives over the network does.

``cryptography`` is imported on first use (:func:`_crypto`), not at import: it costs 20-30 ms,
and the TUI paints its first screen without signing or verifying anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

from core.errors import SignatureInvalid
from core.models import SignedDocument

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

Item = TypeVar("Item")
Result = TypeVar("Result")
# Below this many documents a batch is verified in the calling thread: starting threads costs more
# than it saves.
PARALLEL_FROM = 64
# OpenSSL's Ed25519 does its arithmetic without the GIL (verifying 500 documents: 100 ms in one
# thread, 53 ms in two on a 2-core machine).
MAX_THREADS = 4


@functools.cache
def _crypto() -> SimpleNamespace:
    """The parts of ``cryptography`` this module uses, imported once, on first use."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    return SimpleNamespace(
        InvalidSignature=InvalidSignature,
        serialization=serialization,
        Ed25519PrivateKey=Ed25519PrivateKey,
        Ed25519PublicKey=Ed25519PublicKey,
    )


def in_threads(work: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item]) -> list[Result]:
    """``work(items)``, split into contiguous slices run in a few threads when ``items`` is large.

    Only for work that spends most of its time outside the GIL: Ed25519 verifying. (Signing is
    too quick for it: the Python around each signature then dominates.)
    """
    workers = min(MAX_THREADS, os.cpu_count() or 1, len(items) // PARALLEL_FROM)
    if workers < 2:
        return work(items)
    size = -(-len(items) // workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ed25519") as pool:
        parts = pool.map(work, [items[i : i + size] for i in range(0, len(items), size)])
        return [result for part in parts for result in part]


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id_of(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    serialization = _crypto().serialization
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 bytes of an Ed25519 public key (what a request header carries)."""
    serialization = _crypto().serialization
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_raw_public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        public_key: Ed25519PublicKey = _crypto().Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SignatureInvalid("The key is not 32 bytes of an Ed25519 public key.") from exc
    return public_key


def verifies(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s signature of ``data``."""
    try:
        public_key.verify(signature, data)
    except _crypto().InvalidSignature:
        return False
    return True


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    crypto = _crypto()
    try:
        key = crypto.serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SignatureInvalid("The key file is not a PEM public key.") from exc
    if not isinstance(key, crypto.Ed25519PublicKey):
        raise SignatureInvalid("The key file holds a key that is not Ed25519.")
    ed25519_key: Ed25519PublicKey = key  # checked just above, against the lazily imported class
    return ed25519_key


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Signer:
    """A private key with its key id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        return cls(_crypto().Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, source: str = "the key") -> Signer:
        crypto = _crypto()
        try:
            key = crypto.serialization.load_pem_private_key(pem, password=None)
        except ValueError as exc:
            raise SignatureInvalid(f"{source} is not a PEM private key.") from exc
        if not isinstance(key, crypto.Ed25519PrivateKey):
            raise SignatureInvalid(f"{source} does not hold an Ed25519 private key.")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        """The key kept at ``path`` (PEM, mode 0600), made on first use."""
        if path.exists():
            return cls.from_pem(path.read_bytes(), str(path))
        signer = cls.generate()
        write_private(path, signer.private_pem())
        return signer

    def private_pem(self) -> bytes:
        serialization = _crypto().serialization
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return public_key_pem(self.public_key)

    def sign_bytes(self, data: bytes) -> bytes:
        """The raw Ed25519 signature of ``data`` (for request signatures; documents use ``sign``)."""
        return self._key.sign(data)

    def sign(self, payload: dict[str, Any]) -> SignedDocument:
        signature = self._key.sign(canonical_json(payload))
        return SignedDocument(
            payload=payload, key_id=self.key_id, signature=base64.b64encode(signature).decode()
        )


def verify_with(public_key: Ed25519PublicKey, document: SignedDocument) -> dict[str, Any]:
    try:
        signature = base64.b64decode(document.signature, validate=True)
        public_key.verify(signature, canonical_json(document.payload))
    except (_crypto().InvalidSignature, ValueError) as exc:
        raise SignatureInvalid(
            "A license document's signature does not verify: it was altered or forged.",
            hint="Nothing was stored. Run the operation again; if it repeats, contact support.",
        ) from exc
    return document.payload


class TrustStore:
    """Public keys the device trusts, one PEM file per key id in ``folder``.

    A second, in-memory layer (``trust_for_this_process``) holds keys trusted only while this
    process runs and never written to ``folder``: the embedded demo cloud's key, which the wiring
    trusts only while no cloud URL is set.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Parsed keys by key id and file stamp: a batch of 500 documents reads the key once,
        # and a key file removed or replaced is noticed at once.
        self._parsed: dict[str, tuple[int, Ed25519PublicKey]] = {}
        # PEMs waiting to be parsed on first need (parsing loads cryptography: start-up time).
        self._pending: list[bytes] = []
        self._in_memory: dict[str, Ed25519PublicKey] = {}

    def trust_for_this_process(self, pem: bytes) -> None:
        """Trust ``pem`` until this process ends, without writing it to the folder."""
        self._pending.append(pem)

    def process_key_ids(self) -> list[str]:
        """The ids of the keys trusted for this process only."""
        return sorted(self._memory())

    def _memory(self) -> dict[str, Ed25519PublicKey]:
        while self._pending:
            key = load_public_key(self._pending.pop())
            self._in_memory[key_id_of(key)] = key
        return self._in_memory

    def remove(self, key_id: str) -> bool:
        """Forget the key file of ``key_id``; False when there is none."""
        if not _well_formed_key_id(key_id):
            return False
        path = self.folder / f"{key_id}.pem"
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        self._parsed.pop(key_id, None)
        return True

    def add(self, pem: bytes) -> str:
        key = load_public_key(pem)
        key_id = key_id_of(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{key_id}.pem"
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(public_key_pem(key))
            os.replace(tmp, target)
        return key_id

    def key_ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.pem"))

    def verify(self, document: SignedDocument) -> dict[str, Any]:
        """The payload of ``document`` if a trusted key signed it, else SignatureInvalid."""
        return verify_with(self._trusted_key(document.key_id), document)

    def verify_batch(self, documents: Sequence[SignedDocument]) -> list[dict[str, Any] | SignatureInvalid]:
        """Per document, in order: its payload, or the SignatureInvalid ``verify`` would raise.

        Each key file is read once per batch (a batch is one moment); the signatures are checked
        in a few threads when the batch is large, as OpenSSL does the curve arithmetic without
        the GIL. Returning the errors in place lets a caller refuse in document order.
        """
        keys: dict[str, Ed25519PublicKey | SignatureInvalid] = {}
        for key_id in {document.key_id for document in documents}:
            try:
                keys[key_id] = self._trusted_key(key_id)
            except SignatureInvalid as exc:
                keys[key_id] = exc
        return in_threads(_verify_jobs, [(keys[document.key_id], document) for document in documents])

    def _trusted_key(self, key_id: str) -> Ed25519PublicKey:
        """The parsed key of ``key_id`` from the trust store, else SignatureInvalid."""
        in_memory = self._memory().get(key_id)
        if in_memory is not None:
            return in_memory
        # Checked before touching the filesystem: the id comes from outside and names a file.
        well_formed = _well_formed_key_id(key_id)
        path = self.folder / f"{key_id}.pem"
        stamp = None
        try:
            if well_formed and (info := path.stat()) and stat.S_ISREG(info.st_mode):
                stamp = info.st_mtime_ns
        except OSError:
            pass
        if stamp is None:
            raise SignatureInvalid(
                f"A license document is signed by an unknown key ({key_id[:16]!r}).",
                hint="Add the cloud's public key with `smartlic trust add KEYFILE`.",
            )
        cached = self._parsed.get(key_id)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_public_key(path.read_bytes()))
            self._parsed[key_id] = cached
        return cached[1]


def _well_formed_key_id(key_id: str) -> bool:
    return 0 < len(key_id) <= 64 and key_id.isascii() and key_id.isalnum()


def _verify_jobs(
    jobs: Sequence[tuple[Ed25519PublicKey | SignatureInvalid, SignedDocument]],
) -> list[dict[str, Any] | SignatureInvalid]:
    results: list[dict[str, Any] | SignatureInvalid] = []
    for key, document in jobs:
        if isinstance(key, SignatureInvalid):
            results.append(key)
            continue
        try:
            results.append(verify_with(key, document))
        except SignatureInvalid as exc:
            results.append(exc)
    return results
