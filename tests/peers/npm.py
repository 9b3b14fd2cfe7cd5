"""Install the Node packages of the peer tests (oidc-provider, openid-client) from the lock."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PEERS = Path(__file__).resolve().parent
NPM_TIMEOUT_SECONDS = 600


class NpmFailed(RuntimeError):
    """npm could not install the peers' packages."""


def is_current(folder: Path = PEERS) -> bool:
    """Tell whether node_modules in folder exists and is not older than its package-lock.json."""
    marker = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold a lock on folder's installation, so two pytest processes do not run npm at once."""
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"yunshi-peers-npm-{digest}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules(folder: Path = PEERS) -> None:
    """Run `npm ci` in folder when node_modules is missing or older than package-lock.json."""
    with _exclusive(folder):
        if is_current(folder):
            return
        npm = shutil.which("npm")
        if npm is None:
            raise NpmFailed("npm is not installed; the peer tests need Node.js and npm")
        command = [npm, "ci", "--no-audit", "--no-fund"]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise NpmFailed(f"npm ci in {folder} took over {NPM_TIMEOUT_SECONDS} s") from exc
        if done.returncode != 0:
            raise NpmFailed(
                f"npm ci in {folder} failed with exit code {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        # Whatever npm left behind, the installation now counts as newer than the lock file.
        (folder / "node_modules" / ".package-lock.json").touch()
