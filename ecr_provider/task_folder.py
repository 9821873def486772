"""A report task's work folder, ``{tmp}/ecr-report-tasks/{pid}-{random}``: removed when the task ends
however it ends, and, since a task killed outright (``kill -9``, the OOM killer) cannot remove its
own, reclaimed by the next task on the host once the process that made it is gone."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TASKS_DIRECTORY = "ecr-report-tasks"


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def reclaim(base: Path) -> list[Path]:
    """Remove the folders under ``base`` whose process is gone; returns them."""
    reclaimed = []
    for path in sorted(base.iterdir()):
        pid, dash, _ = path.name.partition("-")
        if dash and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            reclaimed.append(path)
    return reclaimed


@contextmanager
def task_folder(root: Path | None = None) -> Iterator[Path]:
    """A new work folder under ``root`` (the system's temporary directory by default), after
    reclaiming those of dead processes; removed on the way out, an exception included."""
    base = (root or Path(tempfile.gettempdir())) / TASKS_DIRECTORY
    base.mkdir(mode=0o700, exist_ok=True)
    reclaim(base)
    path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
