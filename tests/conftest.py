"""Hypothesis profiles. `make test` (and CI) runs the "ci" profile: derandomized, so a green run is
reproducible and a red one is a real regression. `make fuzz` runs "explore": fresh random examples each time,
many more of them, to find new failing cases (add each one as a fixed test)."""
from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("TKIT_HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 (pytest hook)
    """Under CI a skipped test fails the run: a green CI must mean that everything was checked."""
    from tests.peers import under_ci

    skipped = terminalreporter.stats.get("skipped", [])
    if under_ci() and skipped:
        terminalreporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; a CI run must skip nothing "
                                    "(install the missing peers)", red=True)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 (pytest hook)
    """...and the exit status says so."""
    from tests.peers import under_ci

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if under_ci() and skipped and session.exitstatus == 0:
        session.exitstatus = 1
