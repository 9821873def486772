"""IAM enforcement in the in-process emulator, authorised on the resources AWS itself would check.

moto authorises a request against the caller's IAM policies once it has served
``moto.settings.INITIAL_NO_AUTH_ACTION_COUNT`` requests; the default is infinity, so never.
:func:`moto.core.enable_iam_authentication` sets it to 0 (and the request counter with it) and puts
both back afterwards. Because the emulator serves from this process, that switch applies to it.

moto 5 knows the resource of an S3, SQS, IAM or STS request only: every other request is checked
against ``"*"``, which a statement scoped to ARNs never matches. :func:`authorise_on_resources` gives
ECR, Glue, Athena and SNS requests the resource ARNs the AWS Service Authorization Reference lists
for the operations the DAG calls, all of which must be allowed (Glue checks the catalog, the
database and the table). An operation not listed here stays on ``"*"``. A denial is answered as
those JSON services answer it (``AccessDeniedException``, naming the action and the resource);
moto's own answer is an XML body that botocore cannot parse for them, so the code would read "403".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.athena.responses import AthenaResponse
from moto.core import enable_iam_authentication
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.ecr.responses import ECRResponse
from moto.glue.responses import GlueResponse
from moto.sns.responses import SNSResponse
from moto.utilities.utils import get_partition

ResourcesOf = Callable[[Any], list[str]]


def _arn(response: Any, service: str, resource: str, account: str | None = None) -> str:
    region = response.region
    return f"arn:{get_partition(region)}:{service}:{region}:{account or response.current_account}:{resource}"


def _body(response: Any) -> dict[str, Any]:
    return json.loads(response.body or "{}")  # type: ignore[no-any-return]


def ecr_resources(response: Any) -> list[str]:
    """Repository ARNs; listing every repository is authorised on ``repository/*``."""
    body = _body(response)
    account = body.get("registryId")
    if "repositoryName" in body:
        return [_arn(response, "ecr", f"repository/{body['repositoryName']}", account)]
    if response._get_action() == "DescribeRepositories":
        names = body.get("repositoryNames") or ["*"]
        return [_arn(response, "ecr", f"repository/{name}", account) for name in names]
    return ["*"]


_GLUE_DATABASE = {
    "GetDatabase": lambda body: body["Name"],
    "CreateDatabase": lambda body: body["DatabaseInput"]["Name"],
}
_GLUE_TABLE = {
    "GetTable": lambda body: body["Name"],
    "CreateTable": lambda body: body["TableInput"]["Name"],
    "UpdateTable": lambda body: body["TableInput"]["Name"],
    "BatchCreatePartition": lambda body: body["TableName"],
    "GetPartition": lambda body: body["TableName"],
    "BatchUpdatePartition": lambda body: body["TableName"],
}


def glue_resources(response: Any) -> list[str]:
    """Catalog and database, and the table for a table or partition operation."""
    action, body = response._get_action(), _body(response)
    catalog = _arn(response, "glue", "catalog")
    if action in _GLUE_DATABASE:
        return [catalog, _arn(response, "glue", f"database/{_GLUE_DATABASE[action](body)}")]
    if action in _GLUE_TABLE:
        database = body["DatabaseName"]
        return [
            catalog,
            _arn(response, "glue", f"database/{database}"),
            _arn(response, "glue", f"table/{database}/{_GLUE_TABLE[action](body)}"),
        ]
    return ["*"]


def athena_resources(response: Any) -> list[str]:
    """The workgroup: named, else that of the named queries addressed, else ``primary``."""
    body = _body(response)
    stored = response.athena_backend.named_queries
    ids = body.get("NamedQueryIds") or ([body["NamedQueryId"]] if "NamedQueryId" in body else [])
    workgroups = {stored[i].workgroup.name if i in stored else "primary" for i in ids}
    if "WorkGroup" in body or not workgroups:
        workgroups = {body.get("WorkGroup", "primary")}
    return [_arn(response, "athena", f"workgroup/{name}") for name in sorted(workgroups)]


def sns_resources(response: Any) -> list[str]:
    topic = response._get_param("TopicArn") or response._get_param("TargetArn")
    return [topic] if topic else ["*"]


RESOURCES: dict[type[Any], tuple[ResourcesOf, bool]] = {
    ECRResponse: (ecr_resources, True),
    GlueResponse: (glue_resources, True),
    AthenaResponse: (athena_resources, True),
    SNSResponse: (sns_resources, False),
}
"""Response class -> (its resources, whether the service speaks JSON)."""


def _access_denied(denied: AccessDeniedError, arn: str) -> JsonRESTError:
    action = denied.message.rsplit(" ", 1)[-1]
    error = JsonRESTError(
        "AccessDeniedException",
        f"{denied.message} on resource: {arn} because no identity-based policy allows the {action} action",
    )
    error.code = denied.code
    return error


def _authorising_each(resources_of: ResourcesOf, json_service: bool) -> Callable[..., None]:
    def authorise(self: Any, resource: str = "*") -> None:
        for arn in resources_of(self):
            try:
                ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, arn)
            except AccessDeniedError as denied:
                if json_service:
                    raise _access_denied(denied, arn) from denied
                raise

    return authorise


@contextmanager
def authorise_on_resources() -> Iterator[None]:
    """While active, ECR, Glue, Athena and SNS requests are authorised on their resource ARNs."""
    with pytest.MonkeyPatch.context() as patch:
        for response_class, (resources_of, json_service) in RESOURCES.items():
            authorise = _authorising_each(resources_of, json_service)
            patch.setattr(response_class, "_authenticate_and_authorize_normal_action", authorise)
        yield


@contextmanager
def iam_enforced() -> Iterator[None]:
    """Every request to the emulator is authorised, with the ARNs above, until the block ends."""
    with authorise_on_resources(), enable_iam_authentication():
        yield
