"""The console command's output folder, replaced as a whole: nothing half-written is read as complete.

A run holds a lock on the folder (a second run fails at once, naming the first) and writes every file
into a temporary folder inside it; only a complete set is renamed into place. A run that fails or is
stopped (SIGTERM, SIGINT, SIGHUP) removes its temporary folder and leaves the previous files as they
were. A run killed outright (``kill -9``) leaves its temporary folder behind: the next run reclaims it,
finishing the renames first when the kill came between them (the folder then holds the new set).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

LOCK_NAME = ".ecr-report.lock"
STAGING_PREFIX = ".ecr-report-run-"
READY_NAME = ".ready"
"""Written last into a temporary folder: its set is complete, and these names are to be removed."""
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class FolderBusyError(RuntimeError):
    """Another run holds the folder's lock."""


class Staging:
    """The temporary folder of one run; :meth:`publish` moves its files into place."""

    def __init__(self, folder: Path, path: Path) -> None:
        self.folder = folder
        self.path = path

    def publish(self, *, remove: Iterable[str] = ()) -> None:
        """Every file of the temporary folder renamed into the folder, then ``remove`` (names of
        files from an earlier run that would now mislead) deleted from it."""
        for file in self.path.iterdir():
            _sync(file)
        ready = self.path / (READY_NAME + ".tmp")
        ready.write_text(json.dumps(sorted(remove)), encoding="utf-8")
        _sync(ready)
        ready.rename(self.path / READY_NAME)
        _sync(self.path)
        _finish(self.path, self.folder)


@contextmanager
def replaced_as_a_whole(folder: Path) -> Iterator[Staging]:
    """The locked folder's temporary folder, removed on every way out; publish it to replace the files."""
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder), _stop_signals_raise():
        for earlier in folder.glob(STAGING_PREFIX + "*"):
            _reclaim(earlier, folder)
        path = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
        try:
            yield Staging(folder, path)
        finally:
            _reclaim(path, folder)  # a signal between the renames: they are finished, not undone


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder's lock file, which names its holder; the kernel lets go
    of it when the holder dies, however it dies."""
    lock = (folder / LOCK_NAME).open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "a run that has not named itself yet"
            raise FolderBusyError(f"{folder} is being written by another ecr-report run ({holder})") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, started {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        lock.flush()
        yield
    finally:
        lock.close()


@contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP end the run as an exception would, so its temporary folder is
    removed; outside the main thread, where Python cannot handle signals, they are left as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous: dict[int, Any] = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _reclaim(staging: Path, folder: Path) -> None:
    """A temporary folder, of this run or a killed one: its renames finished when its set was
    complete, and it is removed."""
    if (staging / READY_NAME).exists():
        _finish(staging, folder)
    shutil.rmtree(staging, ignore_errors=True)


def _finish(staging: Path, folder: Path) -> None:
    """The renames of a complete temporary folder, which a killed run may have begun: idempotent."""
    ready = staging / READY_NAME
    remove: list[str] = json.loads(ready.read_text(encoding="utf-8"))
    for file in staging.iterdir():
        if file != ready:
            file.replace(folder / file.name)
    for name in remove:
        (folder / name).unlink(missing_ok=True)
    _sync(folder)
    ready.unlink()


def _sync(path: Path) -> None:
    """Flushed to disk, so a rename never makes visible a file whose data a crash could lose."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
