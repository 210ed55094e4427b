"""The instance's secret key for signing session cookies, made once and kept private."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

FILE = "secret-key"


def secret_key(instance: Path) -> str:
    """``KB_SECRET_KEY`` when set, else the key in the instance directory (created 0600)."""
    if os.environ.get("KB_SECRET_KEY"):
        return os.environ["KB_SECRET_KEY"]
    path = instance / FILE
    if not path.exists():
        # Written aside, then linked into place: a racing process never reads a partial key.
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret-")
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
