"""Deliverables' storage: the bytes streamed in (spool), kept by sha256 (blobs), and the version rows."""
