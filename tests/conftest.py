"""Hypothesis profiles. `make test` (and CI) runs the "ci" profile: derandomized, so a green run is
reproducible and a red one is a real regression. `make fuzz` runs "explore": fresh random examples each time,
many more of them, to find new failing cases (add each one as a fixed test)."""
from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("TKIT_HYPOTHESIS_PROFILE", "ci"))
