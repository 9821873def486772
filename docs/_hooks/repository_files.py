"""Publishes the repository files the pages link to (``../iam/…``), so a link to a file the repository
lacks fails ``mkdocs build --strict`` like a broken link between pages, and the site carries the IAM
policies it tells people to apply."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

# A Markdown link whose target leaves the docs folder: ](../path) or ](../path#anchor).
OUTSIDE_LINK = re.compile(r"\]\((\.\./[^)#\s]+)")
PUBLISHED_UNDER = "repository"


def on_files(files: Files, config: Any) -> Files:
    docs = Path(config.docs_dir)
    root = docs.parent.resolve()
    targets = {
        (page.parent / link).resolve()
        for page in docs.rglob("*.md")
        for link in OUTSIDE_LINK.findall(page.read_text(encoding="utf-8"))
    }
    for target in sorted(targets):
        if not target.is_file() or not target.is_relative_to(root) or target.is_relative_to(docs.resolve()):
            continue  # left for mkdocs to report as not found
        source = Path("..") / target.relative_to(root)
        published = File(
            source.as_posix(),
            config.docs_dir,
            config.site_dir,
            config.use_directory_urls,
            inclusion=InclusionLevel.INCLUDED,
        )
        published.dest_uri = f"{PUBLISHED_UNDER}/{target.relative_to(root).as_posix()}"
        files.append(published)
    return files
