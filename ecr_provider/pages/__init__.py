"""Pages: the HTML of a report date, rendered from Jinja2 templates (autoescaped) with the CSS and the
chart specs as files beside them."""

from __future__ import annotations
