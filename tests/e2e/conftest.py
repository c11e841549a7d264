"""One live `allot serve` per test module and database kind, so the e2e suite stays fast.

Tests share the server, so each builds its own world (fresh SKU names, refs, channels) with the
factories in `world.py` and never relies on what another test left behind.
"""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server
from tests.e2e.cluster import Cluster
from tests.e2e.trust import DATABASES, database_url


@pytest.fixture(scope="module", params=DATABASES)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server on each kind of database, shared by the tests of one module."""
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    srv = Server(database_url(request.param, tmp), tmp)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(live_server: Server) -> Iterator[httpx.Client]:
    """An admin client of the module's server."""
    with live_server.client() as client:
        yield client


@pytest.fixture
def servers(cluster: Cluster) -> list[Server]:
    """The server processes of the module's `cluster` (a module that has one: cluster.py)."""
    return cluster.servers


@pytest.fixture
def admin(servers: list[Server]) -> Iterator[httpx.Client]:
    """An admin client of the cluster's first server."""
    with servers[0].client() as client:
        yield client
