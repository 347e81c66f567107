"""Tables of the loaded walking network (issue 5, network mode of the service circles).

The network is replaced as a whole by `planning.network.load_network`, never edited row by row,
so the tables are shaped for that: node ids are the dense positions 0..n-1 the graph uses in
memory (edges name their ends by those positions, and loading the graph back is two ordered
scans), and one metadata row carries the version every process's cached graph is keyed by.

Edges have no foreign keys to nodes on purpose: both tables are written in the same transaction
by the one loader that derives the edges from the nodes it writes, and a per-row key check would
roughly double the time of loading a city's 100k+ nodes on PostgreSQL.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Integer,
    String,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class WalkNetwork(db.Model):
    """One row (id 1) describing the network in force; absent until a network is loaded."""

    __tablename__ = "walk_network"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Bumped on every load. `load_id` (random) is part of the cache key as well, so that a
    # process never mistakes a newly loaded network for an old one with the same version number
    # (tables emptied and reloaded, as the tests do, restart the version at 1).
    version: Mapped[int] = mapped_column(Integer)
    load_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))  # the file name it came from
    loaded_at: Mapped[datetime] = mapped_column(DateTime)
    node_count: Mapped[int] = mapped_column(Integer)
    edge_count: Mapped[int] = mapped_column(Integer)
    way_count: Mapped[int] = mapped_column(Integer)  # walkable OSM ways used
    dropped_nodes: Mapped[int] = mapped_column(Integer)  # outside the largest connected part
    # The elevation model (GeoTIFF) slopes were counted with, or None (flat but for steps).
    dem_source: Mapped[str | None] = mapped_column(String(255))


class WalkNode(db.Model):
    """A junction or bend of a walkable way, WGS-84 (OpenStreetMap's own system)."""

    __tablename__ = "walk_nodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    osm_id: Mapped[int] = mapped_column(BigInteger)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class WalkEdge(db.Model):
    """A straight piece of a way between two consecutive nodes, walkable both ways unless
    `oneway` (an escalator: u → v only); `ground` is False off street level (a tunnel, a
    bridge, indoors), which snapping avoids when a street is within a few metres.

    length_m is the geodesic length; cost_m the flat-walking metres it is worth walked u → v
    and cost_back_m walked v → u (longer than the length on steps, see
    planning.network.STEPS_FACTOR, and uphill where an elevation model was given, see
    planning/elevation.py). Distances on the network are sums of these.
    """

    __tablename__ = "walk_edges"
    __table_args__ = (
        CheckConstraint("u <> v", name="ck_walk_edges_not_loop"),
        CheckConstraint("length_m >= 0 AND cost_m >= length_m", name="ck_walk_edges_cost"),
        CheckConstraint("cost_back_m >= length_m", name="ck_walk_edges_cost_back"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    u: Mapped[int] = mapped_column(Integer)
    v: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float] = mapped_column(Float)
    cost_m: Mapped[float] = mapped_column(Float)
    cost_back_m: Mapped[float] = mapped_column(Float)
    oneway: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ground: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
