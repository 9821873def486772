"""What moto's EKS makes up about a cluster's Kubernetes API, replaced so a reader of pods never leaves
this machine.

moto 5.2 gives every cluster an endpoint under ``eks.amazonaws.com`` (a real AWS domain, with a random
name) and 1,400 random characters as its CA. Here, after :func:`install`, a cluster has neither (as
EKS answers while a cluster's API server is not up yet) until :func:`serve_cluster` points it at an
API server on loopback, such as the tests' Kubernetes stand-in, with that server's CA.

Everything works on moto's in-memory backend, so it must run in the process serving the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.eks import models as eks_models

_INSTALLED_MARKER = "_ecr_report_gaps_installed"
_install_lock = threading.Lock()


def install() -> None:
    """Apply the moto patch; safe to call any number of times from any thread."""
    with _install_lock:
        cluster = eks_models.Cluster
        if getattr(cluster, _INSTALLED_MARKER, False):
            return
        cluster.__init__ = _without_api_server(cluster.__init__)  # type: ignore[method-assign]
        setattr(cluster, _INSTALLED_MARKER, True)


def _without_api_server(init: Callable[..., None]) -> Callable[..., None]:
    def without_api_server(self: eks_models.Cluster, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.endpoint = None  # type: ignore[assignment]
        self.certificate_authority = None  # type: ignore[assignment]

    return without_api_server


def serve_cluster(
    account_id: str, region: str, name: str, *, endpoint: str, certificate_authority: str
) -> None:
    """Let ``eks:DescribeCluster`` of the cluster answer ``endpoint`` and ``certificate_authority`` (the
    base64 of the server's CA certificate in PEM, as EKS gives it)."""
    cluster = eks_models.eks_backends[account_id][region].clusters[name]
    cluster.endpoint = endpoint
    cluster.certificate_authority = {"data": certificate_authority}
