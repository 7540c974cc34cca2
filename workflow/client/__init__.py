"""phasegate as a client of its own server (``phasegate --server URL``).

:class:`RemoteEngine` has the methods of :class:`workflow.engine.Engine` that the CLI
calls, each one request of the HTTP API, with the same results and the same
exceptions, so the click commands run unchanged over either. Importing this package
imports httpx: the CLI imports it only in server mode.
"""

from workflow.client.engine import RemoteEngine

__all__ = ["RemoteEngine"]
