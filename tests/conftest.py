"""Hypothesis profiles. `make test` (and CI) runs the "ci" profile: derandomized, so a green run is
reproducible and a red one is a real regression. `make fuzz` runs "explore": fresh random examples each time,
many more of them, to find new failing cases (add each one as a fixed test)."""
from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("TKIT_HYPOTHESIS_PROFILE", "ci"))


def _forbidden_skips(reporter) -> list:  # noqa: ANN001
    """Skips a CI run may not have: all but those of peers declared unavailable (tests/peers.py)."""
    from tests.peers import UNAVAILABLE_PREFIX, under_ci

    if reporter is None or not under_ci():
        return []
    return [r for r in reporter.stats.get("skipped", []) if UNAVAILABLE_PREFIX not in str(r.longrepr)]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 (pytest hook)
    """Under CI a skipped test fails the run: a green CI must mean that everything was checked."""
    skipped = _forbidden_skips(terminalreporter)
    if skipped:
        terminalreporter.write_line(f"CI=true: {len(skipped)} test(s) skipped; a CI run must skip nothing "
                                    "(install the missing peers)", red=True)


def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001 (pytest hook)
    """...and the exit status says so."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if _forbidden_skips(reporter) and session.exitstatus == 0:
        session.exitstatus = 1
