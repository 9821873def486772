"""What moto's Lambda leaves out for container-image functions, filled in so it answers like Lambda.

moto 5.2 gets two things wrong that a reader of running images sees; :func:`install` patches them once:

* GetFunction's ``Code.ResolvedImageUri`` carries the sha256 of the URI string, not the image's
  digest (and a URI given by digest comes back mangled); its ``CodeSha256`` is that same hash.
  Lambda resolves the image when the function is created or its code updated and runs that digest
  until the next update: here the digest is read from moto's ECR at those moments, and a URI naming no
  image there is refused as Lambda refuses it.
* ListFunctions returns every function at once; Lambda pages it, at most 50 a page (``MaxItems``,
  ``Marker``, ``NextMarker``).

Everything works on moto's in-memory backend, so it must run in the process serving the emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.responses import LambdaResponse

from emulator import moto_ecr_gaps, paging

PAGE_SIZE = paging.PageSize(50, 50)
"""ListFunctions answers at most 50 functions a call, whatever ``MaxItems`` asks for."""
_RESOLVED_ATTRIBUTE = "_resolved_image_uri"
_INSTALLED_MARKER = "_ecr_report_gaps_installed"
_install_lock = threading.Lock()


def install() -> None:
    """Apply the moto patches; safe to call any number of times from any thread."""
    with _install_lock:
        function = lambda_models.LambdaFunction
        if getattr(function, _INSTALLED_MARKER, False):
            return
        function._set_function_code = _resolving_images(function._set_function_code)  # type: ignore[method-assign, assignment]
        function.get_code = _with_resolved_image(function.get_code)  # type: ignore[method-assign, assignment]
        LambdaResponse.list_functions = _paged_functions(LambdaResponse.list_functions)  # type: ignore[method-assign, assignment]
        setattr(function, _INSTALLED_MARKER, True)


def _resolving_images(
    set_code: Callable[[lambda_models.LambdaFunction, dict[str, Any]], None],
) -> Callable[[lambda_models.LambdaFunction, dict[str, Any]], None]:
    def _set_function_code(function: lambda_models.LambdaFunction, spec: dict[str, Any]) -> None:
        uri = spec.get("ImageUri")
        reference = None if uri is None else moto_ecr_gaps.parse_image_uri(uri)
        if reference is None or spec.get("DryRun"):
            set_code(function, spec)
            return
        digest = moto_ecr_gaps.resolve_digest(reference)
        if digest is None:
            raise LambdaClientError(
                "InvalidParameterValueException",
                f"Source image {uri} does not exist. Provide a valid source image.",
            )
        if spec is not function.code:
            function.code["ImageUri"] = uri
        function.code_sha_256 = digest.removeprefix("sha256:")
        function.code_size = 0
        setattr(function, _RESOLVED_ATTRIBUTE, f"{reference.repository_uri}@{digest}")

    return _set_function_code


def _with_resolved_image(
    get_code: Callable[[lambda_models.LambdaFunction], dict[str, Any]],
) -> Callable[[lambda_models.LambdaFunction], dict[str, Any]]:
    def with_resolved_image(function: lambda_models.LambdaFunction) -> dict[str, Any]:
        answer = get_code(function)
        resolved = function.__dict__.get(_RESOLVED_ATTRIBUTE)
        if resolved is not None:
            answer["Code"]["ResolvedImageUri"] = resolved
        return answer

    return with_resolved_image


def _paged_functions(list_functions: Callable[[LambdaResponse], str]) -> Callable[[LambdaResponse], str]:
    def paged(response: LambdaResponse) -> str:
        functions = json.loads(list_functions(response))["Functions"]
        size = paging.requested_size(response.querystring.get("MaxItems", [None])[0], PAGE_SIZE)
        chosen, marker = paging.page(functions, size, response.querystring.get("Marker", [None])[0])
        return json.dumps({"Functions": list(chosen), **({"NextMarker": marker} if marker else {})})

    return paged
