"""AWS's paging for the emulator's list calls: a page of at most N items and an opaque token to go on.

moto answers most list calls with everything at once, which makes a reader's call counts (and its
pagination bugs) invisible. Each gap module pages its calls with :func:`page`, under the request and
response member names and the page sizes of the service it fills in.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from moto.core.responses import ActionResult, BaseResponse

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class PageSize:
    """A call's page size when the request names none, and the largest it accepts."""

    default: int
    largest: int


def page(items: Sequence[Item], size: int, token: str | None) -> tuple[Sequence[Item], str | None]:
    """The ``size`` items from where ``token`` points (the start when None), and the next page's token,
    None on the last page."""
    start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
    following = start + size
    if following >= len(items):
        return items[start:], None
    return items[start:following], base64.urlsafe_b64encode(str(following).encode()).decode()


def requested_size(
    requested: object, sizes: PageSize, too_large: Callable[[str], Exception] | None = None
) -> int:
    """The page size a request asks for (the default when it names none); above the largest, the
    service's error when ``too_large`` makes it, else the largest (a service that caps silently)."""
    if requested is None or requested == "":
        return sizes.default
    size = int(cast("int | str", requested))
    if size > sizes.largest:
        if too_large is not None:
            raise too_large(f"maxResults must be between 1 and {sizes.largest}, got {size}")
        return sizes.largest
    return size


def page_of(
    response: BaseResponse,
    items: Sequence[Item],
    sizes: PageSize,
    too_large: Callable[[str], Exception] | None = None,
) -> tuple[Sequence[Item], dict[str, str]]:
    """The page a JSON-protocol request asks for (``maxResults``, ``nextToken``), and the response
    members that lead to the next: ``nextToken``, absent on the last page."""
    size = requested_size(response._get_param("maxResults"), sizes, too_large)
    chosen, token = page(items, size, response._get_param("nextToken"))
    return chosen, {"nextToken": token} if token else {}


def paged_action(
    call: Callable[[Any], ActionResult],
    member: str,
    sizes: PageSize,
    too_large: Callable[[str], Exception] | None = None,
) -> Callable[[Any], ActionResult]:
    """A moto JSON-protocol action answering ``member`` a page at a time."""

    def paged(response: BaseResponse) -> ActionResult:
        result = call(response)
        items = cast("dict[str, Sequence[Any]]", result.result)[member]
        chosen, following = page_of(response, items, sizes, too_large)
        return ActionResult({member: chosen, **following})

    return paged
