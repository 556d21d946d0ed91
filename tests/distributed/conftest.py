"""One loopback cluster for the tests that ask for it (scheduler + two workers), started once."""
from __future__ import annotations

import pytest

from tests.distributed.loopback import LoopbackCluster
from tests.peers import require_peer


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    require_peer("distributed")
    running = LoopbackCluster(tmp_path_factory.mktemp("dask"))
    try:
        running.add_worker()
        running.add_worker()
        running.wait_workers(2)
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def client(cluster):
    from distributed import Client

    with Client(cluster.address, timeout=30) as connected:
        yield connected
