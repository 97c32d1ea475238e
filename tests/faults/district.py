"""What the fault tests share: the district they run (its database, server and own PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine

from chengyun.bootstrap import build
from chengyun.settings import Settings
from street import load_street
from throwaway import PostgresCluster, Server

TOKEN = "cy_faults_bootstrap_token"
SPEED = 60.0  # the district's clock: a 5-minute deadline passes in 5 seconds


def street_database(cluster: PostgresCluster) -> str:
    """A fresh database on `cluster`, migrated, with the test street loaded."""
    url = cluster.create_database(f"faults_{uuid.uuid4().hex[:10]}")
    center = build(Settings(database_url=url, run_worker=False))
    try:
        load_street(center)
    finally:
        center.stop()
    return url


@dataclass
class District:
    cluster: PostgresCluster
    url: str
    server: Server
    engine: Engine  # the test's own view of the database
