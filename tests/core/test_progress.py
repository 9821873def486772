"""Progress is reported at a steady interval and once at the end, whatever the pace of repositories."""

from __future__ import annotations

from ecr_provider.core.progress import Progress, ProgressState
from tests.core.test_transform import SNAPSHOT


def test_reports_once_per_interval_and_at_the_end() -> None:
    ticks = iter([0.0, 1.0, 4.0, 5.5, 6.0, 20.0, 21.0])
    states: list[ProgressState] = []
    progress = Progress(total=5, sink=states.append, interval_seconds=5.0, clock=lambda: next(ticks))
    passed = list(progress.track([SNAPSHOT] * 5, lambda snapshot: len(snapshot.images)))
    assert len(passed) == 5
    assert [(s.repositories_done, s.images, s.elapsed_seconds) for s in states] == [
        (3, 9, 5.5),  # first tick at or after 5 s
        (5, 15, 20.0),  # 14.5 s later
        (5, 15, 21.0),  # the end
    ]
    assert states[-1].line() == "5/5 repositories, 15 images, 1 images/s, 21.0 s"
