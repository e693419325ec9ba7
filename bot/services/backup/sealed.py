"""Backups encrypted with BACKUP_PASSPHRASE, in the age format (pyrage; scrypt passphrase).

    seal(zip_file, sealed_file, passphrase)    microdesk-….zip -> microdesk-….zip.age
    unseal(sealed_file, zip_file, passphrase)  the reverse; a wrong passphrase, a truncated or a
                                               tampered file are refused (age authenticates
                                               every chunk) with one sentence, nothing written

Any age tool opens these files too: ``age -d microdesk-….zip.age > backup.zip``.
"""

from __future__ import annotations

from pathlib import Path

import pyrage

from bot.errors import UserInputError

SUFFIX = ".age"
MAGIC = b"age-encryption.org/v1"
WRONG = (
    "This backup cannot be opened with that passphrase (or the file was damaged): "
    "nothing was changed."
)


def is_sealed(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def seal(source: Path, dest: Path, passphrase: str) -> None:
    dest.write_bytes(pyrage.passphrase.encrypt(source.read_bytes(), passphrase))


def unseal(source: Path, dest: Path, passphrase: str) -> None:
    try:
        plain = pyrage.passphrase.decrypt(source.read_bytes(), passphrase)
    except pyrage.DecryptError as exc:
        raise UserInputError(WRONG) from exc
    dest.write_bytes(plain)
