"""A report task's work folder: removed however the task ends, and a killed task's reclaimed by the
next task once its process is gone, never a live one's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecr_provider.task_folder import TASKS_DIRECTORY, reclaim, task_folder


def dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_folder_is_removed_when_the_task_ends_and_when_it_fails(tmp_path: Path) -> None:
    with task_folder(tmp_path) as folder:
        (folder / "repositories_summary.csv").write_text("x")
        assert folder.parent == tmp_path / TASKS_DIRECTORY
        assert folder.name.startswith(f"{os.getpid()}-")
    assert not folder.exists()

    with pytest.raises(RuntimeError, match="the task failed"), task_folder(tmp_path) as failed:
        raise RuntimeError("the task failed")
    assert not failed.exists()


def test_a_dead_processs_folder_is_reclaimed_and_a_live_ones_or_a_strangers_kept(tmp_path: Path) -> None:
    base = tmp_path / TASKS_DIRECTORY
    killed = base / f"{dead_pid()}-abc123"
    (killed / "half").mkdir(parents=True)
    live = base / f"{os.getppid()}-def456"
    live.mkdir()
    stranger = base / "notes"
    stranger.mkdir()

    with task_folder(tmp_path) as folder:
        assert sorted(base.iterdir()) == sorted([folder, live, stranger])
    assert reclaim(base) == []
