"""Signed checkpoints of the Merkle log, in the C2SP tlog-checkpoint format, with Ed25519.

A checkpoint's body is C2SP's (https://c2sp.org/tlog-checkpoint)::

    <origin>\\n<tree size>\\n<standard base64 of the root hash>\\n

and its signature is Ed25519 over exactly those bytes. The key id is C2SP's signed-note key
hash: the first four bytes of SHA-256(origin ‖ "\\n" ‖ 0x01 ‖ the 32-byte public key), written
as 8 lowercase hex digits. Anyone holding a checkpoint and the public key can check that the
log they are shown still has that root at that size, and, with a consistency proof, that a
later log only appended to it.

The private key lives in a file (``LEDGER_SIGNING_KEY``, default ``signing-key.pem`` in the
home, ``ledger/home.py``) made by ``ledger keys init`` with mode 0600: never in the
database, never committed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger import home, settings
from ledger.errors import LedgerError
from ledger.messages import Message

ALGORITHM = "Ed25519"
#: how a checkpoint that is not read from a file is named
THE_CHECKPOINT = Message("the checkpoint")


class KeyProblem(LedgerError):
    """The signing key is missing, unreadable or not an Ed25519 key (the server's set-up,
    not the caller's input)."""

    code = "signing_key_unavailable"
    title = Message("Signing key not available")


class BadCheckpoint(LedgerError):
    """A checkpoint file or body that is not a well-formed checkpoint."""

    code = "validation_error"
    title = Message("Invalid checkpoint")


def origin() -> str:
    """The log's origin line (``LEDGER_ORIGIN``, default ``nscl-ledger``)."""
    return settings.ORIGIN.get()


def key_path(path: str | os.PathLike[str] | None = None, url: str | None = None) -> Path:
    """``path`` (relative: to the current folder), else ``LEDGER_SIGNING_KEY``, else
    ``signing-key.pem`` in the home of the ledger whose database is ``url``."""
    return Path(path) if path else home.signing_key(url)


def _former(path: str | os.PathLike[str] | None, url: str | None) -> Path | None:
    """A key at the former default place, when the default is looked for (``ledger.home``)."""
    return None if path else home.former_signing_key(url)


def init_key(path: str | os.PathLike[str] | None = None, url: str | None = None) -> Path:
    """Make a new Ed25519 private key in a new file readable by its owner only. An existing
    file is never overwritten: losing a key means no one can check its checkpoints. Nor is
    a second key made while the first is at the former default place."""
    target = key_path(path, url)
    former = _former(path, url)
    if former is not None and not target.exists():
        raise KeyProblem(
            Message(
                "there is a signing key at {former}, where earlier versions kept it: move it to "
                "{target} (or set {setting}={former}) instead of making a second key",
                former=former,
                target=target,
                setting=settings.SIGNING_KEY.name,
            )
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyProblem(
            Message(
                "{target} already exists; a signing key is never overwritten (move it away "
                "first if you really mean to replace it)",
                target=target,
            )
        ) from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return target


def load_key(
    path: str | os.PathLike[str] | None = None, url: str | None = None
) -> Ed25519PrivateKey:
    """The signing key at ``path``, else the default one of the ledger at ``url``."""
    source = key_path(path, url)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        former = _former(path, url)
        if former is not None:
            raise KeyProblem(
                Message(
                    "no signing key at {source}; there is one at {former}, where earlier "
                    "versions kept it: move it to {source} (or set {setting}={former})",
                    source=source,
                    former=former,
                    setting=settings.SIGNING_KEY.name,
                )
            ) from None
        raise KeyProblem(
            Message(
                "no signing key at {source}: run `ledger keys init` (or set {setting})",
                source=source,
                setting=settings.SIGNING_KEY.name,
            )
        ) from None
    except OSError as error:
        raise KeyProblem(
            Message(
                "cannot read the signing key {source}: {reason}",
                source=source,
                reason=error.strerror,
            )
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(
            Message("{source} is not an unencrypted PEM private key", source=source)
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(Message("{source} is not an Ed25519 key", source=source))
    return key


def raw_public(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def own_public_key(
    path: str | os.PathLike[str] | None = None, url: str | None = None
) -> bytes | None:
    """The public half of the signing key, if there is one here (None otherwise)."""
    try:
        return raw_public(load_key(path, url))
    except KeyProblem:
        return None


def key_id(public_key: bytes, name: str | None = None) -> str:
    """C2SP's signed-note key hash of ``public_key`` under the name ``name`` (the origin)."""
    digest = hashlib.sha256((name or origin()).encode() + b"\n\x01" + public_key).digest()
    return digest[:4].hex()


def public_key_info(key: Ed25519PrivateKey, name: str | None = None) -> dict[str, str]:
    """What ``GET /api/audit/public-key`` answers."""
    public = raw_public(key)
    return {
        "key_id": key_id(public, name),
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(public).decode(),
    }


def read_public_key(text: str) -> bytes:
    """A public key as users hand it over: the JSON of ``GET /api/audit/public-key`` (or of
    ``ledger keys public``), a PEM public key, or the base64 of the 32 raw bytes."""
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["public_key"])
        except (ValueError, KeyError, TypeError):
            raise BadCheckpoint(Message('the public key JSON has no "public_key" field')) from None
    elif text.startswith("-----BEGIN"):
        try:
            loaded = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise BadCheckpoint(Message("the public key PEM cannot be read")) from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise BadCheckpoint(Message("the public key is not an Ed25519 key"))
        return raw_public(loaded)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadCheckpoint(Message("the public key is not base64")) from None
    if len(raw) != 32:
        raise BadCheckpoint(
            Message("an Ed25519 public key has 32 bytes, not {size}", size=len(raw))
        )
    return raw


def body(name: str, tree_size: int, root_hash: bytes) -> str:
    """The C2SP checkpoint body."""
    return f"{name}\n{tree_size}\n{base64.b64encode(root_hash).decode()}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A signed checkpoint as the API answers it and ``ledger checkpoint --out`` writes it."""

    tree_size: int
    root_hash: str  # hex
    origin: str
    body: str
    signature: str  # base64 of the 64-byte Ed25519 signature over ``body``
    key_id: str
    created_at: str  # ISO 8601, UTC

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, source: str = THE_CHECKPOINT) -> Checkpoint:
        """A checkpoint read back from JSON, its fields checked and its body matching them."""
        if not isinstance(data, dict):
            raise BadCheckpoint(Message("{source} is not a JSON object", source=source))
        missing = [name for name in cls.__dataclass_fields__ if name not in data]
        if missing:
            raise BadCheckpoint(
                Message("{source} lacks {missing}", source=source, missing=", ".join(missing))
            )
        size = data["tree_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadCheckpoint(
                Message("{source}: tree_size must be a whole number ≥ 0", source=source)
            )
        for name in ("root_hash", "origin", "body", "signature", "key_id", "created_at"):
            if not isinstance(data[name], str):
                raise BadCheckpoint(
                    Message("{source}: {name} must be text", source=source, name=name)
                )
        try:
            root = bytes.fromhex(data["root_hash"])
        except ValueError:
            raise BadCheckpoint(Message("{source}: root_hash is not hex", source=source)) from None
        if len(root) != 32:
            raise BadCheckpoint(
                Message("{source}: root_hash must be 32 bytes (64 hex digits)", source=source)
            )
        if data["body"] != body(data["origin"], size, root):
            raise BadCheckpoint(
                Message(
                    "{source}: its body does not say its origin, tree_size and root_hash",
                    source=source,
                )
            )
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    @property
    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)

    def signed_by(self, public_key: bytes) -> bool:
        """Whether ``signature`` is ``public_key``'s Ed25519 signature over ``body``."""
        try:
            signature = base64.b64decode(self.signature, validate=True)
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, self.body.encode())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def sign(
    key: Ed25519PrivateKey,
    tree_size: int,
    root_hash: bytes,
    name: str | None = None,
    at: dt.datetime | None = None,
) -> Checkpoint:
    name = name or origin()
    text = body(name, tree_size, root_hash)
    signature = key.sign(text.encode())
    created = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return Checkpoint(
        tree_size=tree_size,
        root_hash=root_hash.hex(),
        origin=name,
        body=text,
        signature=base64.b64encode(signature).decode(),
        key_id=key_id(raw_public(key), name),
        created_at=created.isoformat().replace("+00:00", "Z"),
    )


def read_file(path: str | os.PathLike[str]) -> Checkpoint:
    """A checkpoint from a JSON file written by ``ledger checkpoint --out``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise BadCheckpoint(
            Message("cannot read {path}: {reason}", path=path, reason=error.strerror)
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise BadCheckpoint(Message("{path} is not JSON", path=path)) from None
    return Checkpoint.from_json(data, str(path))
