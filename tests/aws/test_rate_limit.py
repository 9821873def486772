"""RequestRate paces requests on a clock: the first second's worth goes at once, then one per interval.
ThrottlePacing leaves a registry unpaced until AWS throttles it, backs off, and recovers when it stops."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from ecr_provider.aws import registry
from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.manifests import InMemoryManifestCache
from ecr_provider.aws.rate_limit import RegistryPace, RequestRate, ThrottlePacing, pace_registry
from ecr_provider.aws.registry import RegistryClients, open_registry
from ecr_provider.core.options import RegistryOptions
from ecr_provider.core.settings import DEFAULT_MAX_CONCURRENCY
from ecr_provider.report_files import write_registry_report
from emulator.server import ACCOUNT_ID, DUMMY_CREDENTIALS, Emulator, client
from emulator.synthetic_registry import seed_synthetic_registry


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


@dataclass
class Traffic:
    """What callers sent through a pace in a span of time, and the pace at the end of each second."""

    sent: int = 0
    throttled: int = 0
    rates: list[float | None] = field(default_factory=list)


def traffic(
    pacing: ThrottlePacing,
    clock: FakeClock,
    seconds: float,
    per_second: float,
    *,
    throttled_share: float = 0,
    quota: float | None = None,
) -> Traffic:
    """Callers that would send ``per_second`` requests unpaced. AWS throttles every
    ``1 / throttled_share``-th whatever the rate, or, with a ``quota``, what exceeds a token bucket of
    that many a second (a tenth of a second's worth of burst), as a service quota does."""
    every = round(1 / throttled_share) if throttled_share else 0
    tokens = quota / 10 if quota else 0.0
    last = clock.now
    seen = Traffic()
    end = clock.now + seconds
    while clock.now < end:
        second = int(clock.now)
        pacing.wait()
        seen.sent += 1
        if quota:
            tokens = min(quota / 10, tokens + (clock.now - last) * quota)
            last = clock.now
        refused = (every and seen.sent % every == 0) or (quota and tokens < 1)
        if quota and not refused:
            tokens -= 1
        if refused:
            seen.throttled += 1
            pacing.throttled()
        clock.now += 1 / per_second
        if int(clock.now) != second:
            seen.rates.append(pacing.rate)
    return seen


def test_unthrottled_requests_are_never_paced() -> None:
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)

    traffic(pacing, clock, 10, per_second=2_000)

    assert (pacing.rate, pacing.backoffs, clock.slept) == (None, 0, [])


def test_a_few_throttles_are_left_to_the_retries() -> None:
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)

    traffic(pacing, clock, 10, per_second=500, throttled_share=0.1)

    assert (pacing.rate, pacing.backoffs, clock.slept) == (None, 0, [])


def test_over_a_quota_the_pace_starts_at_half_the_rate_sent() -> None:
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)
    traffic(pacing, clock, 1, per_second=400)

    traffic(pacing, clock, 0.5, per_second=400, quota=100)

    assert pacing.backoffs == 1
    assert pacing.rate == pytest.approx(200, rel=0.05)
    traffic(pacing, clock, 0.1, per_second=400, quota=100)
    assert clock.slept[-1] == pytest.approx(1 / 200 - 1 / 400, rel=0.05)  # one request per slot of the pace


def test_a_registry_over_its_quota_is_paced_near_it() -> None:
    """Unpaced, three in four requests would be throttled; paced, far fewer are, and the quota is used."""
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)
    traffic(pacing, clock, 10, per_second=400, quota=100)

    settled = traffic(pacing, clock, 20, per_second=400, quota=100)

    assert pacing.backoffs >= 2
    assert settled.throttled / settled.sent < 0.45
    assert (settled.sent - settled.throttled) / 20 > 90


def test_throttling_a_slower_pace_does_not_ease_is_left_to_the_retries() -> None:
    """AWS refusing a third of the requests whatever their rate: the pace does not collapse."""
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)

    seen = traffic(pacing, clock, 30, per_second=400, throttled_share=1 / 3)

    assert seen.sent > 0.8 * 400 * 30 * (30 / (30 + sum(clock.slept)))
    assert seen.sent > 0.8 * 400 * 30 - 400 * sum(clock.slept)
    assert sum(clock.slept) < 0.1 * 30


def test_when_throttling_stops_the_pace_rises_then_goes() -> None:
    clock = FakeClock()
    pacing = ThrottlePacing(clock=clock.time, sleep=clock.sleep)
    traffic(pacing, clock, 1, per_second=200)
    traffic(pacing, clock, 5, per_second=200, quota=20)
    lowest = pacing.rate
    assert lowest is not None
    assert lowest < 40

    rates = traffic(pacing, clock, 10, per_second=200).rates

    paced = [rate for rate in rates if rate is not None]
    assert paced == sorted(paced)
    assert paced[0] > lowest
    assert rates[-1] is None
    slept = len(clock.slept)
    traffic(pacing, clock, 1, per_second=2_000)
    assert len(clock.slept) == slept


def test_a_throttle_from_aws_is_reported_to_the_pace_and_other_errors_are_not(emulator: Emulator) -> None:
    """The emulator's planned faults, through a real client: botocore's needs-retry reports them."""
    throttles: list[float] = []

    class Recording(ThrottlePacing):
        def throttled(self) -> None:
            throttles.append(self._clock())
            super().throttled()

    pacing = Recording()
    ecr = client("ecr", emulator.endpoint_url, "us-east-1")
    pacing.attach(ecr)

    emulator.inject_faults({"ecr:DescribeRepositories": ["503", "500"]})
    ecr.describe_repositories()
    assert throttles == []

    emulator.inject_faults({"ecr:DescribeRepositories": ["throttle"]})
    ecr.describe_repositories()
    assert emulator.faults_injected == [("ecr:DescribeRepositories", "throttle")]
    assert len(throttles) == 1
    assert (pacing.rate, pacing.backoffs) == (None, 0)  # one throttle in three attempts is no share yet


AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def read_registry(
    emulator: Emulator, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ThrottlePacing, float | None, dict[str, bytes]]:
    """One registry read as the DAG and the console command read it, with the default options; the
    pace its clients got, the ceiling it was given, and the reports' bytes."""
    paces: list[tuple[ThrottlePacing, float | None]] = []

    def recording(ceiling: float | None) -> RegistryPace:
        pace = pace_registry(ceiling)
        paces.append((pace.pacing, ceiling))
        return pace

    monkeypatch.setattr(registry, "pace_registry", recording)
    config = ecr_client_config(DEFAULT_MAX_CONCURRENCY)
    clients = RegistryClients.connect(
        lambda service: boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name="us-east-1",
            config=config,
            **DUMMY_CREDENTIALS,
        ),
        "us-east-1",
        ACCOUNT_ID,
    )
    opened = open_registry(
        clients,
        RegistryOptions.parse(read_manifests="never", price_per_gb_month="0.10"),
        as_of=AS_OF,
        manifest_cache=InMemoryManifestCache(),
        pricing_client=lambda: pytest.fail("priced by the override"),
        price_cache={},
    )
    directory.mkdir()
    report = write_registry_report([opened], directory)
    [(pacing, ceiling)] = paces
    return pacing, ceiling, {name: path.read_bytes() for name, path in report.files.items()}


def test_with_the_defaults_a_registry_is_paced_only_while_aws_throttles_it(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_synthetic_registry(ACCOUNT_ID, "us-east-1", repositories=60, images=600, as_of=AS_OF)

    calm, ceiling, expected = read_registry(emulator, tmp_path / "calm", monkeypatch)

    assert ceiling is None
    assert (calm.backoffs, calm.paced_seconds, calm.rate) == (0, 0.0, None)

    emulator.inject_faults({"ecr:DescribeImages": ["throttle"] * 30})
    throttled, _, reports = read_registry(emulator, tmp_path / "throttled", monkeypatch)

    assert emulator.faults_injected == [("ecr:DescribeImages", "throttle")] * 30
    assert throttled.backoffs >= 1
    assert throttled.paced_seconds > 0
    assert reports == expected
