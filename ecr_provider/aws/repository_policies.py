"""Who may pull a registry's images: the reads behind ``core.visibility``.

``ecr:GetRegistryPolicy`` once per registry and ``ecr:GetRepositoryPolicy`` per repository: the
principals a policy lets pull. A missing policy grants nothing. (The EKS clusters whose pods went
unread come with the run's usage, ``aws.usage``.)

They matter only where an image could otherwise be called ``unused``, so ``open_registry`` makes
them only when the registry's usage was read. Optional, like every read beyond ECR's: a refused
call gives one warning naming it, and then use is "not visible" wherever that read could have shown
it (every repository of the registry; after the first refused ``GetRepositoryPolicy`` the others are
not asked), so no image is called reclaimable on a guess.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_provider.aws.errors import AwsCallError, aws_call, describe_failure, error_code
from ecr_provider.core.records import Repository
from ecr_provider.core.usage import UnseenEks
from ecr_provider.core.visibility import NO_POLICY, PolicyRead, RegistryVisibility

log = logging.getLogger(__name__)

REGISTRY_POLICY_NOT_FOUND = "RegistryPolicyNotFoundException"
REPOSITORY_POLICY_NOT_FOUND = "RepositoryPolicyNotFoundException"
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
NOT_VISIBLE_WARNING = "Registry %s: %s, so the use it would show is not visible (no image unused): %s"


def read_visibility(
    ecr_client: Any,
    *,
    label: str,
    read_accounts: frozenset[str],
    unseen_eks: tuple[UnseenEks, ...],
) -> RegistryVisibility:
    """The registry's policy, with what the run read and the EKS pods it could not."""
    return RegistryVisibility(
        read_accounts, registry_policy=_registry_policy(ecr_client, label), unseen_eks=unseen_eks
    )


def _registry_policy(ecr_client: Any, label: str) -> PolicyRead:
    try:
        with aws_call("ecr"):
            try:
                return PolicyRead(str(ecr_client.get_registry_policy()["policyText"]))
            except ClientError as error:
                if error_code(error) != REGISTRY_POLICY_NOT_FOUND:
                    raise
                return NO_POLICY
    except AwsCallError as error:
        log.warning(NOT_VISIBLE_WARNING, label, "its registry policy is unknown", error)
        return PolicyRead(None, "ecr:GetRegistryPolicy")


class RepositoryPolicies:
    """Reads repository policies of one registry, on the reader's threads; after one refusal the rest
    are not asked (one warning, not one per repository)."""

    def __init__(self, ecr_client: Any, label: str) -> None:
        self.client = ecr_client
        self.label = label
        self._refused = ""
        self._lock = threading.Lock()

    def read(self, repository: Repository) -> PolicyRead:
        """A vanished repository's ``RepositoryNotFoundException`` is the caller's to handle."""
        if self._refused:
            return PolicyRead(None, self._refused)
        try:
            response = self.client.get_repository_policy(
                repositoryName=repository.name, registryId=repository.account_id
            )
        except ClientError as error:
            code = error_code(error)
            if code == REPOSITORY_POLICY_NOT_FOUND:
                return NO_POLICY
            if code == REPOSITORY_NOT_FOUND:
                raise
            return self._refuse(describe_failure(error, "ecr", repository.arn))
        except BotoCoreError as error:
            return self._refuse(describe_failure(error, "ecr", repository.arn))
        return PolicyRead(str(response["policyText"]))

    def _refuse(self, error: AwsCallError) -> PolicyRead:
        with self._lock:
            if not self._refused:
                self._refused = "ecr:GetRepositoryPolicy"
                log.warning(NOT_VISIBLE_WARNING, self.label, "its repository policies are unknown", error)
        return PolicyRead(None, self._refused)
