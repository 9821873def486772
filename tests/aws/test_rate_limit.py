"""RequestRate paces requests on a clock: the first second's worth goes at once, then one per interval."""

from __future__ import annotations

import pytest

from ecr_provider.aws.rate_limit import RequestRate
from emulator.server import Emulator, client


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_of_one_second_then_one_request_per_interval() -> None:
    clock = FakeClock()
    rate = RequestRate(4, clock=clock.time, sleep=clock.sleep)

    for _ in range(6):
        rate.wait()

    assert clock.slept == pytest.approx([0.25, 0.25])
    assert clock.now == pytest.approx(100.5)


def test_quiet_time_earns_requests_back_up_to_one_second() -> None:
    clock = FakeClock()
    rate = RequestRate(2, clock=clock.time, sleep=clock.sleep)
    rate.wait()
    rate.wait()
    clock.now += 60

    rate.wait()
    rate.wait()
    rate.wait()

    assert clock.slept == pytest.approx([0.5])


def test_it_paces_every_request_a_client_sends_retries_included(emulator: Emulator) -> None:
    clock = FakeClock()
    rate = RequestRate(1, clock=clock.time, sleep=clock.sleep)
    ecr = client("ecr", emulator.endpoint_url, "us-east-1")
    rate.attach(ecr)
    emulator.inject_faults({"ecr:DescribeRepositories": ["503"]})

    for _ in range(2):
        ecr.describe_repositories()

    assert emulator.faults_injected == [("ecr:DescribeRepositories", "503")]
    assert clock.slept == pytest.approx([1.0, 1.0])  # three requests sent: the first, its retry, the second


@pytest.mark.parametrize("bad", [0, -1.5])
def test_a_rate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match=f"got {bad!r}"):
        RequestRate(bad)
