"""Warnings whose cause repeats across registries, logged once with the registries they cover.

A report task reads up to hundreds of registries, and the console command every region of an account,
and a cause such as "the reporting role is not excluded from pull-time updates" is usually the same for
all of them: one ~600-character warning per registry repeating the same fix buries the log. Inside
:func:`grouped_warnings` such a warning is gathered instead, and logged when the block's registries are
done: once per cause, with the count, the registries it covers and the fix, written once with its
registry-specific values as placeholders. Outside it the warning is logged as it comes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_ACTIVE: ContextVar[RepeatedCauses | None] = ContextVar("ecr_report_repeated_causes", default=None)


@dataclass
class _Cause:
    logger: logging.Logger
    first: str
    """The first registry's message, logged as it is when the cause covers that registry alone."""
    registries: list[str] = field(default_factory=list)


@dataclass
class RepeatedCauses:
    """The causes warned about so far, by their message with the registry's own values replaced."""

    causes: dict[str, _Cause] = field(default_factory=dict)
    what: str = "registries of this task"
    """What the labels name, in the grouped warning: a task's registries, a usage task's sources, or
    the console run's registries."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, logger: logging.Logger, registry: str, message: str, values: Mapping[str, str]) -> None:
        template = _template(message, {**values, "registry": registry})
        with self._lock:
            cause = self.causes.setdefault(template, _Cause(logger, message))
            cause.registries.append(registry)

    def log(self) -> None:
        for template, cause in self.causes.items():
            if len(cause.registries) == 1:
                cause.logger.warning("%s", cause.first)
            else:
                cause.logger.warning(
                    "%d %s (%s): %s",
                    len(cause.registries),
                    self.what,
                    ", ".join(cause.registries),
                    template,
                )
        self.causes.clear()


def warn_registry(logger: logging.Logger, registry: str, message: str, values: Mapping[str, str]) -> None:
    """Warn ``message`` about ``registry`` (its label); ``values`` names the message's other
    registry-specific parts (a region, a principal ARN), replaced by ``<name>``, as the label is by
    ``<registry>``, where the warning stands for several registries."""
    active = _ACTIVE.get()
    if active is None:
        logger.warning("%s", message)
    else:
        active.add(logger, registry, message, values)


@contextmanager
def grouped_warnings(what: str = "registries of this task") -> Iterator[RepeatedCauses]:
    """Gather the registries' warnings while the block runs (in this thread) and log each cause once
    when it ends, however it ends; ``what`` names the labels in a grouped warning."""
    causes = RepeatedCauses(what=what)
    token = _ACTIVE.set(causes)
    try:
        yield causes
    finally:
        _ACTIVE.reset(token)
        causes.log()


def _template(message: str, values: Mapping[str, str]) -> str:
    """Longest values first, so a value inside another (a region inside an ARN) leaves it whole."""
    for name, value in sorted(values.items(), key=lambda item: -len(item[1])):
        if value:
            message = message.replace(value, f"<{name}>")
    return message
