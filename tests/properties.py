"""How hard the property tests search.

The everyday run (`make test`, CI) uses the example counts written in the tests, kept modest so the
suite stays well under CI's 20 minutes. `HYPOTHESIS_PROFILE=thorough` searches ten times harder,
for a deeper run before a release or after changing the planner:

    HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest tests/unit tests/integration/test_shop_push_properties.py

Tests set their count with `examples(n)`; tests without one follow the loaded profile.
"""
from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
DEPTH = {"default": 1, "thorough": 10}
if PROFILE not in DEPTH:
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: one of {', '.join(DEPTH)}")

settings.register_profile("thorough", max_examples=100 * DEPTH["thorough"])
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """`n` examples in the everyday run, more under the thorough profile."""
    return n * DEPTH[PROFILE]
