"""EcrHook configured for reading a whole registry: adaptive retries and a pool sized for the readers."""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.hooks.ecr import EcrHook
from botocore.config import Config

from ecr_provider.aws.ecr import DEFAULT_MAX_CONCURRENCY, RegistryReader, ecr_client_config
from ecr_provider.core.settings import check_concurrency


class EcrRegistryHook(EcrHook):
    """
    Interact with Amazon ECR to read every repository and image of one registry.

    :param max_concurrency: repositories read at once; the client's connection pool follows it.
        A ``config`` given by the caller is merged over the retry settings, so it can tune them.
    """

    def __init__(self, *, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, **kwargs: Any) -> None:
        self.max_concurrency = check_concurrency(max_concurrency)
        config = ecr_client_config(self.max_concurrency)
        user_config = kwargs.pop("config", None)
        if user_config:
            config = config.merge(user_config if isinstance(user_config, Config) else Config(**user_config))
        super().__init__(config=config, **kwargs)

    def registry_reader(self) -> RegistryReader:
        return RegistryReader(self.conn, self.max_concurrency)
