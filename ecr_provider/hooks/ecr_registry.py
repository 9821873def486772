"""EcrHook configured for reading a whole registry: standard retries, a pool sized for the readers,
and optionally the registry of another account through a role."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory
from airflow.providers.amazon.aws.hooks.ecr import EcrHook
from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
from botocore.config import Config
from botocore.loaders import create_loader

from ecr_provider.aws.ecr import ecr_client_config
from ecr_provider.aws.errors import aws_call
from ecr_provider.aws.registry import RegistryClients
from ecr_provider.core.settings import DEFAULT_MAX_CONCURRENCY, check_concurrency
from ecr_provider.core.targets import RegistryTarget
from ecr_provider.core.targets import role_arn as checked_role_arn

ROLE_SESSION_NAME = "ecr-report"


class _RoleSessionFactory(BaseSessionFactory):
    """The amazon provider's assume-role machinery (refreshable credentials; the connection's
    ``assume_role_kwargs`` such as ExternalId or DurationSeconds) for a registry's role, assumed from
    the connection's own session, so a role the connection itself assumes is chained."""

    def __init__(
        self,
        *,
        base: boto3.session.Session,
        conn: AwsConnectionWrapper,
        role_arn: str,
        region_name: str | None,
        config: Config,
    ) -> None:
        wrapper = AwsConnectionWrapper(conn=conn, region_name=region_name, botocore_config=config)
        wrapper.role_arn = role_arn
        wrapper.assume_role_method = "assume_role"
        # The provider keeps a connection's assume_role_kwargs only when the connection has a role of
        # its own; a registry's role takes them from the connection's extra either way.
        kwargs = conn.assume_role_kwargs or conn.extra_config.get("assume_role_kwargs") or {}
        wrapper.assume_role_kwargs = {"RoleSessionName": ROLE_SESSION_NAME, **kwargs}
        # The provider assumes a connection's own role only at an ``sts`` service endpoint; a registry's
        # role is assumed where this hook's other STS calls go (the connection's endpoint_url included).
        sts_endpoint = conn.get_service_endpoint_url("sts")
        if sts_endpoint:
            wrapper.service_config = {
                **conn.service_config,
                "sts": {**conn.get_service_config("sts"), "endpoint_url": sts_endpoint},
            }
        super().__init__(conn=wrapper, region_name=region_name, config=config)
        self._base = base

    @cached_property
    def basic_session(self) -> boto3.session.Session:
        return self._base


class EcrRegistryHook(EcrHook):
    """
    Interact with Amazon ECR to read every repository and image of one registry.

    :param max_concurrency: repositories read at once; the client's connection pool follows it.
        A ``config`` given by the caller is merged over the retry settings, so it can tune them.
    :param role_arn: role to assume (with the connection's credentials) to read another account's
        registry; None reads the connection's own account.
    """

    def __init__(
        self, *, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, role_arn: str | None = None, **kwargs: Any
    ) -> None:
        self.max_concurrency = check_concurrency(max_concurrency)
        self.role_arn = checked_role_arn(role_arn, "") if role_arn else None
        super().__init__(**kwargs)

    @property
    def config(self) -> Config:
        """Retries and a pool for every reader thread, under what the operator's ``botocore_config`` or
        else the connection's ``config_kwargs`` set (a read timeout, say), for every client built here."""
        return ecr_client_config(self.max_concurrency).merge(super().config)

    @cached_property
    def registry_session(self) -> boto3.session.Session:
        """The connection's session, or the assumed role's for another account's registry: its
        credentials refresh themselves before they expire, so a registry that takes longer than the
        role's session lifetime (one hour at most when chained) goes on reading."""
        session = share_service_models(self.get_session(self.region_name))
        if self.role_arn is None:
            return session
        factory = _RoleSessionFactory(
            base=session,
            conn=self.conn_config,
            role_arn=self.role_arn,
            region_name=self.region_name,
            config=self.config,
        )
        with aws_call("sts", self.role_arn):
            return share_service_models(factory.create_session())

    def registry_client(self, service: str, region: str | None = None) -> Any:
        """A client with the registry's identity (ECR itself, or STS to learn who reads it), in
        ``region`` or else the hook's: one hook serves an account's registries in every region."""
        return self.registry_session.client(
            service,
            region_name=region or self.region_name,
            endpoint_url=self.conn_config.get_service_endpoint_url(service),
            config=self.config,
            verify=self.verify,
        )

    @cached_property
    def conn(self) -> Any:
        return self.registry_client("ecr")

    @cached_property
    def account_id(self) -> str:
        """The registry's account: from the role ARN, else the connection's identity (STS)."""
        from_role = RegistryTarget(self.region_name or "", self.role_arn).account_id
        if from_role:
            return from_role
        with aws_call("sts"):
            return str(super().account_id)

    def registry_clients(self, region: str | None = None) -> RegistryClients:
        """The clients of the account's registry in ``region`` (the hook's by default), each built when
        first used."""
        where = region or self.region_name
        return RegistryClients.connect(
            lambda service: self.registry_client(service, where), where or "", self.account_id
        )


def share_service_models(session: boto3.session.Session) -> boto3.session.Session:
    """Give ``session`` the process's one botocore loader, which keeps every service model, endpoint
    table and paginator it has parsed: a report task builds clients for many registries, and a loader
    of their own would parse those JSON files again for each registry's session."""
    session._session.register_component("data_loader", _SHARED_LOADER)
    return session


_SHARED_LOADER = create_loader()
