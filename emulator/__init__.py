"""The local AWS emulator used by the demo and tests, never by production code."""
