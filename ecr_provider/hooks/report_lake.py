"""S3Hook for the bucket the reports go to: reports read back a row at a time, a date's page read from
them, the small JSON records and the manifest cache kept beside them, listings and deletes, each
failure naming the IAM action and the object."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.config import Config
from botocore.exceptions import ClientError

from ecr_provider import log_redaction
from ecr_provider.aws.errors import AwsCallError, aws_call, error_code
from ecr_provider.core.blobs import ParsedManifest
from ecr_provider.core.columns import IMAGES_REPORT, REGISTRIES_REPORT, REPOSITORIES_REPORT
from ecr_provider.core.csv_format import read_canonical
from ecr_provider.core.html_report import (
    ALL_REGISTRIES,
    ReportPage,
    RunDecision,
    Scope,
    degraded_registries,
    page_images,
    trend_point,
)
from ecr_provider.core.layout import (
    cache_prefix,
    generation_manifest_key,
    generation_of,
    generation_prefix,
    in_progress_key,
    new_generation,
    outcomes_prefix,
    partition_prefix,
    report_date_of,
    report_key,
    report_prefix,
    run_manifest_key,
    runs_prefix,
)
from ecr_provider.core.records import Repository
from ecr_provider.core.run_manifest import OutcomeRecord, RunRecord
from ecr_provider.core.run_plan import InProgress, RunPlan, planned_outcomes
from ecr_provider.core.settings import check_kms_key_id
from ecr_provider.core.thresholds import ThresholdPolicy
from ecr_provider.core.transform import PreviousReport

log = logging.getLogger(__name__)
log_redaction.install()  # every task that writes the lake: no credential in its log at any level

_KMS_REFUSAL = re.compile(r"\bAccessDenied\b|\bKMS\.\w+")
"""A write under a KMS key refused by S3 (AccessDenied) or by KMS (KMS.NotFoundException, ...)."""
MAX_SEGMENTS = 4
TREND_DATES = 366
"""Report dates a page's trend goes back: a year of daily runs, one small manifest GET each."""
INCOMPLETE = (
    "This date is incomplete: a registry failed (see its run manifest); the figures cover those that loaded."
)
NO_MANIFEST = "This date has no run manifest yet: its run may still be going, and the figures may change."
BEING_REWRITTEN = (
    "This date is being rewritten by a run started {started}: the figures are those of the date's "
    "state before it, until that run ends (or, if it was stopped, until the next run of the date)."
)


def visible_generation(manifest: Mapping[str, Any] | None) -> str | None:
    """The generation a date's manifest makes visible; None for a date written before generations."""
    return None if manifest is None else manifest.get("generation")


def rewriting(manifest: Mapping[str, Any] | None, in_progress: Mapping[str, Any] | None) -> bool:
    """Whether a run other than the one of the visible manifest marked the date in progress."""
    return in_progress is not None and in_progress.get("generation") != visible_generation(manifest)


def publication(published: Published) -> str:
    """What became of a run's generation, for its log."""
    if published.superseded_by is not None:
        return f"superseded by the newer generation {published.superseded_by} (its objects deleted)"
    return "visible" if published.shown else f"not made visible (the date stays at {published.kept})"


def _url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


class Published(NamedTuple):
    """What closing a run of a date did (:meth:`ReportLakeHook.publish_generation`)."""

    manifest_key: str
    """The run's own manifest, beside its generation."""
    removed: list[str]
    """Objects of failed registries deleted from the run's generation."""
    shown: bool
    """Whether the run's generation became the date's visible one."""
    kept: str | None
    """The generation the date shows now."""
    collected: list[str]
    """Objects of older generations (the run's own when it is not shown), deleted."""
    superseded_by: str | None = None
    """A newer run's generation, visible or being written, that this run left the date to."""


class ReportLakeHook(S3Hook):
    """
    Interact with Amazon S3 where the reports, run records and manifest cache are kept.

    Objects are read with one GetObject each: ``get_key`` and ``read_key`` send a HeadObject first,
    a request more per read, and a HEAD answers a missing or refused object with a bare 404 or 403.
    Listing and writing use S3Hook's own calls. Failures leave as ``AwsCallError`` naming the IAM
    action (s3:GetObject, s3:PutObject, s3:ListBucket, s3:DeleteObject) and the object or prefix.

    :param tuning: botocore settings laid over the connection's own (``config_kwargs``), where an
        explicit ``config`` would replace them: harder retries, or a pool for every thread sharing it.
    :param report_kms_key_id: KMS key (id, ARN or alias) every write is encrypted under with SSE-KMS,
        through S3Hook's ``extra_args``; empty: the bucket's default encryption. A refused write then
        names kms:GenerateDataKey and the key, which S3 answers as a plain AccessDenied.
    """

    def __init__(
        self, *args: Any, tuning: Config | None = None, report_kms_key_id: str = "", **kwargs: Any
    ) -> None:
        self.report_kms_key_id = check_kms_key_id(report_kms_key_id)
        if self.report_kms_key_id:
            kwargs["extra_args"] = {
                **kwargs.get("extra_args", {}),
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": self.report_kms_key_id,
            }
        super().__init__(*args, **kwargs)
        self.tuning = tuning
        self._earlier_dates: dict[tuple[str, str, str], list[str]] = {}

    @property
    def config(self) -> Config:
        return super().config.merge(self.tuning) if self.tuning else super().config

    def object_body(self, bucket: str, key: str, *, missing_ok: bool = False) -> Any:
        """The object's streaming body; with ``missing_ok``, None when there is no such key."""
        with aws_call("s3", _url(bucket, key)):
            try:
                return self.conn.get_object(Bucket=bucket, Key=key)["Body"]
            except ClientError as error:
                if missing_ok and error_code(error) == "NoSuchKey":
                    return None
                raise

    def write_bytes(self, bucket: str, key: str, data: bytes) -> None:
        with self._writing(bucket, key):
            self.load_bytes(data, key, bucket, replace=True)

    def write_file(self, bucket: str, key: str, path: Path) -> None:
        """A local file as one object (multipart when large), encrypted like every other write."""
        with self._writing(bucket, key):
            self.load_file(path, key, bucket_name=bucket, replace=True)

    @contextmanager
    def _writing(self, bucket: str, key: str) -> Iterator[None]:
        try:
            with aws_call("s3", _url(bucket, key)):
                yield
        except AwsCallError as error:
            if not self.report_kms_key_id or not _KMS_REFUSAL.search(str(error)):
                raise
            refused = (
                "was refused"
                if "kms:" in str(error) or "KMS." in str(error)
                else "or s3:PutObject was refused (S3 answers both as AccessDenied)"
            )
            raise AwsCallError(
                f"kms:GenerateDataKey on {self.report_kms_key_id} for {_url(bucket, key)} {refused}: "
                "allow the writer kms:GenerateDataKey on the key, in its IAM policy "
                f"(iam/optional/report-kms-key.json) and in the key policy. {error}"
            ) from error.__cause__

    def keys_under(self, bucket: str, prefix: str) -> list[str]:
        """Every key under ``prefix``, in S3's (lexicographic) order."""
        with aws_call("s3", _url(bucket, prefix)):
            return list(self.list_keys(bucket_name=bucket, prefix=prefix))

    def delete_keys(self, bucket: str, keys: Sequence[str]) -> None:
        """The one delete path: a DeleteObject per key. What is deleted is few objects (a date's stale
        parts, a repository's merged cache segments), and each delete is authorised, and a refusal
        reported, on its own object, where DeleteObjects answers 200 and lists refusals apart (and
        the emulator cannot authorise it against a policy scoped to the prefix)."""
        for key in keys:
            with aws_call("s3", _url(bucket, key)):
                self.conn.delete_object(Bucket=bucket, Key=key)

    def run_outcomes(
        self, bucket: str, prefix: str, report_date: str, plan: RunPlan
    ) -> dict[int, OutcomeRecord]:
        """The registries' outcomes the report tasks of the run of ``plan`` recorded, by target index:
        a listing and one read per task, however many registries each reported."""
        outcomes: dict[int, OutcomeRecord] = {}
        for key in self.keys_under(bucket, outcomes_prefix(prefix, report_date)):
            planned = planned_outcomes(self.read_json(bucket, key), plan)
            outcomes.update((outcome["index"], outcome) for outcome in planned)
        return outcomes

    def read_report_rows(self, bucket: str, key: str) -> Iterator[dict[str, str]]:
        """Stream a canonical report CSV as dicts keyed by header, without loading the object whole."""
        yield from _rows(self.object_body(bucket, key))

    def previous_report(
        self, bucket: str, prefix: str, *, report_date: str, account_id: str, region: str
    ) -> PreviousReport | None:
        """The newest earlier report of this registry, for the trend columns; None when there is none.
        An earlier date is read at the generation its manifest makes visible."""
        for date in reversed(
            self._dates_before(bucket, report_prefix(prefix, REPOSITORIES_REPORT), report_date)
        ):
            generation = visible_generation(self.read_manifest(bucket, prefix, date))
            key = report_key(prefix, REPOSITORIES_REPORT, date, account_id, region, generation=generation)
            body = self.object_body(bucket, key, missing_ok=True)
            if body is None:
                continue
            return PreviousReport(
                date,
                {
                    row["repositoryName"]: (
                        int(row["billableSizeBytes"]),
                        Decimal(row["monthlyStorageCost(USD)"]),
                    )
                    for row in _rows(body)
                },
            )
        return None

    def last_image_counts(self, bucket: str, prefix: str, report_date: str) -> dict[tuple[str, str], int]:
        """Images of each (account, region) at the newest earlier run manifest, to plan the batches."""
        for date in reversed(self._dates_before(bucket, runs_prefix(prefix), report_date)):
            manifest = self.read_manifest(bucket, prefix, date)
            if manifest is not None:
                return {
                    (target["account_id"], target["region"]): target["images"]
                    for target in manifest.get("targets", [])
                    if target.get("account_id") and target.get("images") is not None
                }
        return {}

    def _dates_before(self, bucket: str, base: str, report_date: str) -> list[str]:
        """The ``report_date=`` partitions under ``base`` before ``report_date``, oldest first: listed
        once per hook, so a batch's registries share one listing (earlier dates do not change)."""
        found = self._earlier_dates.get((bucket, base, report_date))
        if found is None:
            with aws_call("s3", _url(bucket, base)):
                partitions = self.list_prefixes(bucket_name=bucket, prefix=base, delimiter="/")
            dates = (report_date_of(partition) for partition in partitions)
            found = self._earlier_dates[(bucket, base, report_date)] = sorted(
                date for date in dates if date is not None and date < report_date
            )
        return found

    def manifest_dates(self, bucket: str, prefix: str) -> list[str]:
        """Every date with a run record, oldest first (one LIST of the ``_runs/`` partitions)."""
        with aws_call("s3", _url(bucket, runs_prefix(prefix))):
            partitions = self.list_prefixes(bucket_name=bucket, prefix=runs_prefix(prefix), delimiter="/")
        return sorted(date for partition in partitions if (date := report_date_of(partition)) is not None)

    def read_manifest(self, bucket: str, prefix: str, report_date: str) -> dict[str, Any] | None:
        """The date's run manifest; None before its run wrote one."""
        return self.read_json(bucket, run_manifest_key(prefix, report_date))

    def read_manifests(self, bucket: str, prefix: str, dates: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The run manifests of ``dates`` that have one, by date."""
        return {
            date: manifest
            for date in dates
            if (manifest := self.read_manifest(bucket, prefix, date)) is not None
        }

    def read_in_progress(self, bucket: str, prefix: str, report_date: str) -> dict[str, Any] | None:
        """The mark of a run writing the date; None when no run is (or the last one ended)."""
        return self.read_json(bucket, in_progress_key(prefix, report_date))

    def date_rows(
        self,
        bucket: str,
        prefix: str,
        report: str,
        report_date: str,
        *,
        generation: str | None,
        scope: Scope = ALL_REGISTRIES,
    ) -> Iterable[dict[str, str]]:
        """A report's rows of one generation of a date, streamed object by object; only the objects of
        registries in ``scope`` are read (one object per registry, named ``{account}-{region}.csv``).
        Generation None: the objects directly under the date's partition, none of a generation."""
        under = generation_prefix(prefix, report, report_date, generation)
        for key in self.keys_under(bucket, under):
            name = key.removeprefix(under)
            account_id, _, region = name.removesuffix(".csv").partition("-")
            if "/" not in name and name.endswith(".csv") and scope.covers(account_id, region):
                yield from self.read_report_rows(bucket, key)

    def begin_generation(self, bucket: str, prefix: str, report_date: str, *, run_id: str) -> str:
        """A new generation for a run of the date, later than any it knows of (``new_generation``),
        marked in progress before any of its objects is written, so readers say the date is being
        rewritten."""
        started = datetime.now(UTC)
        known = (
            (self.read_in_progress(bucket, prefix, report_date) or {}).get("generation"),
            visible_generation(self.read_manifest(bucket, prefix, report_date)),
        )
        generation = new_generation(started, after=max(filter(None, known), default=None))
        self.write_json(
            bucket,
            in_progress_key(prefix, report_date),
            InProgress(run_id=run_id, generation=generation, started=started.isoformat()),
        )
        return generation

    def write_registry_objects(
        self,
        bucket: str,
        prefix: str,
        report_date: str,
        *,
        generation: str,
        account_id: str,
        region: str,
        files: Mapping[str, Path],
    ) -> dict[str, str]:
        """One registry's canonical report files, one object each under the run's generation; their
        keys by report."""
        keys = {}
        for report, path in files.items():
            keys[report] = report_key(prefix, report, report_date, account_id, region, generation=generation)
            self.write_file(bucket, keys[report], path)
        return keys

    def publish_generation(
        self,
        bucket: str,
        prefix: str,
        report_date: str,
        *,
        record: RunRecord,
        reports: Sequence[str],
        generation: str,
        prices: Mapping[str, Mapping[str, Any]],
        run_id: str,
        register: Callable[[], object] | None = None,
    ) -> Published:
        """Close a run of the date: objects of its failed registries deleted from its generation, its
        manifest written beside it, then, when the run is complete or the date has no complete state
        to keep, ``register`` (the Glue partitions) and the date's manifest replaced by the run's,
        last; older generations collected and the run's in-progress mark removed.

        Generations are named by their start time, so runs of one date that overlap (``max_active_runs``
        keeps the DAG's apart, but not a second deployment, ``airflow dags test`` or the console's
        ``--upload``) settle on the newest: a run whose date already shows, or is being written by, a
        newer generation switches nothing and deletes its own objects, and no run deletes a newer
        generation's."""
        listed = [
            key
            for report in reports
            for key in self.keys_under(bucket, generation_prefix(prefix, report, report_date, generation))
        ]
        removed = record.stale(listed)
        self.delete_keys(bucket, removed)
        manifest = {
            **record.manifest(reports=reports, generation=generation, removed=removed, prices=prices),
            "run_id": run_id,
        }
        own = generation_manifest_key(prefix, report_date, generation)
        self.write_json(bucket, own, manifest)
        visible = self.read_manifest(bucket, prefix, report_date)
        marked = (self.read_in_progress(bucket, prefix, report_date) or {}).get("generation")
        newer = max((g for g in (visible_generation(visible), marked) if g and g > generation), default=None)
        if newer is not None:
            collected = sorted(set(listed) - set(removed))
            self.delete_keys(bucket, collected)
            return Published(own, removed, False, visible_generation(visible), collected, newer)
        shown = record.complete or visible is None or not visible.get("complete")
        if shown:
            if register is not None:
                register()
            self.write_json(bucket, run_manifest_key(prefix, report_date), manifest)
        kept = generation if shown else visible_generation(visible)
        collected = self.collect_generations(bucket, prefix, report_date, reports, keep=kept, upto=generation)
        if marked is None or marked <= generation:
            self.delete_keys(bucket, [in_progress_key(prefix, report_date)])
        return Published(own, removed, shown, kept, collected)

    def collect_generations(
        self,
        bucket: str,
        prefix: str,
        report_date: str,
        reports: Sequence[str],
        *,
        keep: str | None,
        upto: str,
    ) -> list[str]:
        """Delete every object of ``reports`` of the date of a generation up to ``upto`` but ``keep``
        (None: those written before generations, always older): older generations once a newer one is
        visible, and those of runs that failed or were killed; never a newer run's. Returns the deleted
        keys."""
        doomed = []
        for report in reports:
            partition = partition_prefix(prefix, report, report_date)
            for key in self.keys_under(bucket, partition):
                found = generation_of(key, partition)
                if found != keep and (found is None or found <= upto):
                    doomed.append(key)
        self.delete_keys(bucket, doomed)
        return doomed

    def read_report_page(
        self,
        bucket: str,
        prefix: str,
        report_date: str,
        *,
        manifests: Mapping[str, Mapping[str, Any]],
        scope: Scope = ALL_REGISTRIES,
        policy: ThresholdPolicy | None = None,
        decision: RunDecision | None = None,
        in_progress: Mapping[str, Any] | None = None,
    ) -> ReportPage:
        """The page of one date: its summaries' rows at the generation its manifest makes visible
        (images streamed into the page's image sections), and the trend from the given run manifests
        by date (the caller reads or caches those, and the date's ``in_progress`` mark)."""
        manifest = manifests.get(report_date)
        generation = visible_generation(manifest)

        def rows(report: str) -> Iterable[dict[str, str]]:
            return self.date_rows(bucket, prefix, report, report_date, generation=generation, scope=scope)

        in_scope = list(rows(REPOSITORIES_REPORT))
        images = page_images(rows(IMAGES_REPORT), in_scope)
        registries = list(rows(REGISTRIES_REPORT))
        trend = [
            point
            for date in sorted(manifests)
            if date <= report_date and (point := trend_point(manifests[date], scope)) is not None
        ]
        notes = (NO_MANIFEST,) if manifest is None else () if manifest.get("complete") else (INCOMPLETE,)
        if rewriting(manifest, in_progress):
            notes = (BEING_REWRITTEN.format(started=(in_progress or {}).get("started")), *notes)
        return ReportPage(
            report_date,
            in_scope,
            trend,
            images,
            policy,
            scope,
            notes=notes,
            decision=decision,
            registries=registries,
            degraded=None if manifest is None else degraded_registries(manifest, scope),
        )

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """A JSON object written by :meth:`write_json`; None when there is no such object."""
        body = self.object_body(bucket, key, missing_ok=True)
        if body is None:
            return None
        with body:
            try:
                document = json.load(body)
            except ValueError as error:
                raise ValueError(f"{_url(bucket, key)} is not valid JSON ({error})") from error
        if not isinstance(document, dict):
            raise ValueError(f"{_url(bucket, key)} holds {type(document).__name__}, not a JSON object")
        return document

    def write_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        self.write_bytes(bucket, key, _json_bytes(document))

    def claim(self, bucket: str, key: str, document: Mapping[str, Any]) -> bool:
        """Write ``document`` only where no object is (S3's conditional write, ``If-None-Match: *``):
        True when this call wrote it, False when an object was there or another conditional write of
        the key was in flight. A retried request whose first attempt landed finds its own document."""
        body = _json_bytes(document)
        with self._writing(bucket, key):
            try:
                self.conn.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", **self.extra_args)
            except ClientError as error:
                if error_code(error) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
                return self.read_json(bucket, key) == document
        return True


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    """Sorted keys and a final newline: the same document is always the same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _rows(body: Any) -> Iterator[dict[str, str]]:
    with body:
        yield from read_canonical(io.TextIOWrapper(body, encoding="utf-8", newline=""))


# -- manifest cache ----------------------------------------------------------------------------------


def _encode(manifests: Mapping[str, ParsedManifest]) -> bytes:
    lines = (
        json.dumps({"digest": digest, **manifests[digest].as_record()}, separators=(",", ":"))
        for digest in sorted(manifests)
    )
    return "".join(f"{line}\n" for line in lines).encode()


@dataclass
class S3ManifestCache:
    """The ``ManifestCache`` of production: append-only JSON-lines segments per repository under
    :func:`cache_prefix`.

    A run reads only the segments of the repositories it reports (one LIST and at most
    ``max_segments`` GETs each) and writes one new segment holding only the manifests it read; when
    a repository would exceed ``max_segments`` its segments are merged into one and the old ones
    deleted (merged object written first, so no entry is ever missing). Segments are named by
    content hash, so concurrent runs cannot overwrite each other. Needs s3:ListBucket, s3:GetObject,
    s3:PutObject and s3:DeleteObject on the prefix.
    """

    hook: ReportLakeHook
    bucket: str
    prefix: str
    max_segments: int = MAX_SEGMENTS
    _loaded: dict[str, tuple[list[str], dict[str, ParsedManifest]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.max_segments < 1:
            raise ValueError(f"max_segments must be >= 1, got {self.max_segments!r}")

    def load(self, repository: Repository) -> dict[str, ParsedManifest]:
        segments = cache_prefix(self.prefix, repository)
        keys = self.hook.keys_under(self.bucket, segments)
        entries: dict[str, ParsedManifest] = {}
        for key in keys:
            entries.update(self._read_segment(key))
        with self._lock:
            self._loaded[segments] = (keys, entries)
        return dict(entries)

    def save(self, repository: Repository, new: Mapping[str, ParsedManifest]) -> None:
        with self._lock:
            keys, entries = self._loaded.pop(cache_prefix(self.prefix, repository), ([], {}))
        if len(keys) + bool(new) > self.max_segments:
            merged = self._write_segment(repository, {**entries, **new})
            self._delete([key for key in keys if key != merged])
        elif new:
            self._write_segment(repository, new)

    def _read_segment(self, key: str) -> dict[str, ParsedManifest]:
        with self.hook.object_body(self.bucket, key) as body:
            data = body.read()
        try:
            records = [json.loads(line) for line in data.decode().splitlines() if line]
            return {str(record["digest"]): ParsedManifest.from_record(record) for record in records}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"manifest cache object {_url(self.bucket, key)} is corrupt ({error!r}); "
                "delete it and the next run reads its manifests again"
            ) from error

    def _write_segment(self, repository: Repository, manifests: Mapping[str, ParsedManifest]) -> str:
        body = _encode(manifests)
        key = f"{cache_prefix(self.prefix, repository)}{hashlib.sha256(body).hexdigest()[:32]}.jsonl"
        self.hook.write_bytes(self.bucket, key, body)
        return key

    def _delete(self, keys: list[str]) -> None:
        """A refused delete only leaves segments that a later run merges again, so it is warned
        about, not raised."""
        try:
            self.hook.delete_keys(self.bucket, keys)
        except AwsCallError as error:
            log.warning(
                "Could not delete merged manifest cache segments (%s); a later run merges them", error
            )
