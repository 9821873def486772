"""The console command's folder is replaced as a whole, by one run at a time, with nothing left behind."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ecr_provider.output_folder import (
    LOCK_NAME,
    READY_NAME,
    STAGING_PREFIX,
    FolderBusyError,
    replaced_as_a_whole,
)

PREVIOUS = {"repositories_summary.csv": b"old repositories\r\n", "report.html": b"<p>old</p>"}


def folder_with_a_previous_report(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    for name, body in PREVIOUS.items():
        (folder / name).write_bytes(body)
    return folder


def files(folder: Path) -> dict[str, bytes]:
    """The folder's files but its lock (which stays, so that no two runs ever lock different files)."""
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name != LOCK_NAME
    }


def temporary_folders(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if path.is_dir()]


def test_publish_replaces_the_files_and_removes_the_named_stale_ones(tmp_path: Path) -> None:
    folder = folder_with_a_previous_report(tmp_path)
    (folder / "image_findings.csv").write_bytes(b"old findings\r\n")
    (folder / "notes.txt").write_bytes(b"the user's own")

    with replaced_as_a_whole(folder) as staging:
        (staging.path / "repositories_summary.csv").write_bytes(b"new repositories\r\n")
        (staging.path / "report.html").write_bytes(b"<p>new</p>")
        assert staging.path.parent == folder
        assert files(folder) == {  # until published, readers see the previous report
            "image_findings.csv": b"old findings\r\n",
            "notes.txt": b"the user's own",
            **PREVIOUS,
        }
        staging.publish(remove=["image_findings.csv"])

    assert temporary_folders(folder) == []
    assert files(folder) == {
        "notes.txt": b"the user's own",
        "report.html": b"<p>new</p>",
        "repositories_summary.csv": b"new repositories\r\n",
    }


def test_a_run_that_fails_leaves_the_previous_files_and_no_temporary_folder(tmp_path: Path) -> None:
    folder = folder_with_a_previous_report(tmp_path)

    def half_a_run() -> None:
        with replaced_as_a_whole(folder) as staging:
            (staging.path / "repositories_summary.csv").write_bytes(b"half a report")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        half_a_run()

    assert temporary_folders(folder) == []
    assert files(folder) == PREVIOUS


def test_a_second_run_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    folder = folder_with_a_previous_report(tmp_path)

    with replaced_as_a_whole(folder):
        with pytest.raises(FolderBusyError) as busy, replaced_as_a_whole(folder):
            pytest.fail("the second run got the folder")
        message = str(busy.value)

    assert message.startswith(f"{folder} is being written by another ecr-report run (pid {os.getpid()}, ")
    assert re.search(r"started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)$", message), message
    assert files(folder) == PREVIOUS
    with replaced_as_a_whole(folder) as staging:  # the first let go of it
        staging.publish()
    assert files(folder) == PREVIOUS


def test_an_incomplete_temporary_folder_of_a_killed_run_is_reclaimed(tmp_path: Path) -> None:
    folder = folder_with_a_previous_report(tmp_path)
    killed = folder / f"{STAGING_PREFIX}4242-abcd"
    killed.mkdir()
    (killed / "repositories_summary.csv").write_bytes(b"half a report")

    with replaced_as_a_whole(folder) as staging:
        assert temporary_folders(folder) == [staging.path.name]

    assert temporary_folders(folder) == []
    assert files(folder) == PREVIOUS


def test_a_run_killed_between_its_renames_is_finished_by_the_next(tmp_path: Path) -> None:
    """All renames or none: the kill came after the set was complete, so the new set is put in place."""
    folder = folder_with_a_previous_report(tmp_path)
    (folder / "image_findings.csv").write_bytes(b"old findings\r\n")
    killed = folder / f"{STAGING_PREFIX}4242-abcd"
    killed.mkdir()
    (killed / "report.html").write_bytes(b"<p>new</p>")
    (killed / READY_NAME).write_text(json.dumps(["image_findings.csv"]))
    (folder / "repositories_summary.csv").write_bytes(b"new repositories\r\n")  # renamed before the kill

    with replaced_as_a_whole(folder):
        pass

    assert temporary_folders(folder) == []
    assert files(folder) == {
        "report.html": b"<p>new</p>",
        "repositories_summary.csv": b"new repositories\r\n",
    }


def test_a_run_stopped_between_its_renames_finishes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal (raised as SystemExit) after the first rename: the set is complete, so it is put in place."""
    folder = folder_with_a_previous_report(tmp_path)
    renamed: list[str] = []
    replace = Path.replace

    def stopped_after_one(self: Path, target: Path) -> Path:
        if renamed:
            raise SystemExit(143)
        renamed.append(self.name)
        return replace(self, target)

    def stopped_run() -> None:
        with replaced_as_a_whole(folder) as staging:
            (staging.path / "repositories_summary.csv").write_bytes(b"new repositories\r\n")
            (staging.path / "report.html").write_bytes(b"<p>new</p>")
            with monkeypatch.context() as patch:
                patch.setattr(Path, "replace", stopped_after_one)
                staging.publish()

    with pytest.raises(SystemExit):
        stopped_run()

    assert len(renamed) == 1
    assert temporary_folders(folder) == []
    assert files(folder) == {
        "report.html": b"<p>new</p>",
        "repositories_summary.csv": b"new repositories\r\n",
    }
