"""A local Ziggy server for tests, demos and benchmarks: ``ziggy_migrate.testing``.

It stands beside the library (nothing here imports the rest of ``ziggy_migrate``) so
that it emulates the server's contract rather than our client's idea of it. Typical use::

    from ziggy_migrate.testing import ZiggyEmulator

    with ZiggyEmulator() as ziggy:
        ziggy.add_flow("Orders", tags=["sales"])
        ...  # talk to ziggy.base_url as username "admin", password "admin"

Run one from a shell with ``python -m ziggy_migrate.testing --port 3000``.
"""

from ._server import Answer, FaultPlan, RecordedRequest, ZiggyEmulator

__all__ = ["Answer", "FaultPlan", "RecordedRequest", "ZiggyEmulator"]
