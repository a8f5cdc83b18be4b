"""A local refund API with the failures real suppliers have (see ``refundctl sandbox serve``)."""

from refundctl.sandbox.app import Quoter, SandboxSettings, create_app
from refundctl.sandbox.faults import FaultConfig
from refundctl.sandbox.server import SandboxServer, bind, drop_connection
from refundctl.sandbox.store import MemoryStore, SqliteStore, Store

__all__ = [
    "FaultConfig",
    "MemoryStore",
    "Quoter",
    "SandboxServer",
    "SandboxSettings",
    "SqliteStore",
    "Store",
    "bind",
    "create_app",
    "drop_connection",
]
