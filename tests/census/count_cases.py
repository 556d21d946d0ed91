"""pytest plugin: counts the cases each test tried (a hypothesis test's generated examples, a `cases` property
recorded by a test whose cases ran in a child process, else one) and writes them as JSON to $TKIT_CENSUS_OUT. Used by hostile_census.py; run with --hypothesis-show-statistics."""
from __future__ import annotations

import json
import os
import re

import pytest

_results: list[dict] = []
_PASSING = re.compile(r"(\d+) passing")
_FAILING = re.compile(r"(\d+) failing")


def _examples(item: pytest.Item) -> tuple[int, int] | None:
    stats = getattr(item, "hypothesis_statistics", None)
    if not stats:
        return None
    passing = sum(int(n) for n in _PASSING.findall(stats))
    failing = sum(int(n) for n in _FAILING.findall(stats))
    return passing, failing


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201 (pytest hook)
    report = (yield).get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        counted = _examples(item)
        cases = dict(item.user_properties).get("cases")  # a test whose cases ran in a child process
        tried, failing = counted if counted else (int(cases) if cases else 1, 0)
        passed = report.outcome == "passed"
        _results.append({"nodeid": item.nodeid, "outcome": report.outcome, "tried": tried + failing,
                         "passing": tried if passed else max(0, tried - max(failing, 1))})


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("TKIT_CENSUS_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(_results, f)
