"""Process settings for the whole test session, as the entry points apply them (before torch is imported)."""

from benchmark import runtime

runtime.setup()
