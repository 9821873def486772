"""Whether manifests may be read: BatchGetImage moves an image's ``lastRecordedPullTime`` unless the
reader is excluded from pull-time updates, so the decision weighs ``read_manifests`` against that.

Pure: :mod:`ecr_provider.aws.manifests` asks who the reporter is and whether it is excluded.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ecr_provider.core.settings import READ_MANIFESTS, ReadManifests

_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/[^/]+$"
)
_EXCLUDABLE = re.compile(r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$")
"""RegisterPullTimeUpdateExclusion's principalArn pattern (botocore ECR model)."""


def principal_arn_of(caller_arn: str) -> str:
    """The IAM ARN behind a GetCallerIdentity ARN.

    ``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`` becomes ``arn:aws:iam::ACCT:role/ROLE``. The
    assumed-role ARN carries the role's name but never its path, so for a role created with a path
    (``/team/``; every IAM Identity Center role lives under ``/aws-reserved/sso.amazonaws.com/``)
    this is not the role's ARN; ``aws.manifests.reporting_principal_arn`` can ask IAM for the real
    one. User ARNs keep their path and anything else (root, federated users) is returned unchanged.
    """
    match = _ASSUMED_ROLE.match(caller_arn)
    if match is None:
        return caller_arn
    return f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"


class ManifestDecision(NamedTuple):
    read: bool
    reason: str
    warn: bool
    """Log ``reason`` at WARNING (once per registry) rather than INFO."""


def should_read_manifests(
    mode: ReadManifests, excluded: bool, *, principal_arn: str, region: str, unchecked: str = ""
) -> ManifestDecision:
    """Whether to read manifests (BatchGetImage) under ``read_manifests=mode``, and what to log.

    ``unchecked`` is why the exclusion could not be checked (the failed call and its error), empty
    when it was: the check is optional, so an unanswered one means "not excluded", never a failed
    report, and the one warning says which call failed.
    """
    if mode not in READ_MANIFESTS:
        raise ValueError(f"read_manifests {mode!r} is not one of {', '.join(READ_MANIFESTS)}")
    if mode == "never":
        return ManifestDecision(False, "read_manifests=never: storage is reported from image sizes", False)
    if unchecked:
        return ManifestDecision(mode == "always", _unchecked(mode, principal_arn, region, unchecked), True)
    if excluded:
        return ManifestDecision(
            True, f"{principal_arn} is excluded from pull-time updates in {region}: reading manifests", False
        )
    if mode == "always":
        return ManifestDecision(
            True,
            f"read_manifests=always: reading manifests as {principal_arn}, which is not excluded from "
            f"pull-time updates in {region}, so every image read for the first time gets a new "
            "lastRecordedPullTime",
            True,
        )
    return ManifestDecision(False, _exclusion_advice(principal_arn, region), True)


def _unchecked(mode: ReadManifests, principal_arn: str, region: str, reason: str) -> str:
    who = principal_arn or "the reporting principal"
    if mode == "always":
        return (
            f"read_manifests=always: reading manifests as {who}; whether it is excluded from pull-time "
            f"updates in {region} could not be checked ({reason}), so images read for the first time "
            "may get a new lastRecordedPullTime"
        )
    return (
        f"Storage in {region} is reported from image sizes (shared layers counted repeatedly), not unique "
        f"blobs: whether {who} is excluded from pull-time updates could not be checked ({reason}), and "
        "reading manifests unexcluded would update every image's lastRecordedPullTime. Allow "
        "ecr:ListPullTimeUpdateExclusions (iam/optional/image-manifests.json) where the API exists, or "
        "set read_manifests=always to accept that pull times move."
    )


def _exclusion_advice(principal_arn: str, region: str) -> str:
    head = (
        f"Storage in {region} is reported from image sizes (shared layers counted repeatedly), not "
        f"unique blobs: reading manifests would update every image's lastRecordedPullTime because "
        f"{principal_arn} is not excluded from pull-time updates."
    )
    if not _EXCLUDABLE.match(principal_arn):
        return f"{head} Only IAM roles and users can be excluded: run the report as an IAM role."
    fix = (
        f" To fix, once per account and region: aws ecr register-pull-time-update-exclusion "
        f"--principal-arn {principal_arn} --region {region}"
    )
    if ":role/" in principal_arn and principal_arn.count("/") == 1:
        name = principal_arn.rsplit("/", 1)[1]
        fix += (
            f" (if the role has a path, use its full ARN: aws iam get-role --role-name {name} "
            "--query Role.Arn, and allow the reporter iam:GetRole on it)"
        )
    return f"{head}{fix}. Or set read_manifests=always to accept that pull times move."
