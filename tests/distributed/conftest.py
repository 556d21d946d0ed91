"""One loopback cluster per test module that asks for it (scheduler + two workers)."""
from __future__ import annotations

import pytest

from tests.distributed.loopback import LoopbackCluster
from tests.peers import require_peer


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster.address, timeout=30) as connected:
        yield connected
