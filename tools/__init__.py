"""Maintainer tools: code and docs generated from the package's own tables (not shipped in the wheel)."""
