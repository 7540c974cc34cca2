"""The audit trail over the API: verify (against a checkpoint file kept here), checkpoint, export, reports.

A checkpoint file lives with the auditor, not on the server: ``audit verify --checkpoint
FILE`` reads and checks it here (the same sentences as on a database), then sends its
text to ``POST /audit/verify``, where the server checks it again with its own
PHASEGATE_CHECKPOINT_KEY, if it has one, and requires its chains to be intact.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from workflow import settings
from workflow.client import paging
from workflow.client.decode import one
from workflow.client.transport import LONG_TIMEOUT, Transport, path
from workflow.domain import inputs
from workflow.domain.results import AuditReport

if TYPE_CHECKING:
    from workflow.domain.audit.checkpoint import Checkpoint
    from workflow.reports.timeline import ProjectReport, TemplateReport

Unused = object


class TextSink(Protocol):
    """Where an export goes (the Engine's ``storage.export.TextSink``: a file, stdout, a wrapper)."""

    def write(self, text: str, /) -> Any: ...


class RemoteAudit:
    """The audit and report methods of :class:`~workflow.client.RemoteEngine`."""

    http: Transport

    def verify_audit(self, code: str | None = None, *, raise_on_broken: bool = False, reader: Unused = None,
                     checkpoint: str | Path | None = None, jobs: int | None = None,
                     actor: Unused = None, replay: bool = True) -> AuditReport:
        """Recompute the chains on the server; ``checkpoint``: a checkpoint file here, to be held to."""
        params = {"project": None if code is None else inputs.project_code(code), "jobs": inputs.jobs(jobs),
                  "replay": replay}
        if checkpoint is None:
            url = path("audit", "verify")
            report = self.http.call("GET", url, params=params, timeout=LONG_TIMEOUT, read=self._keep_files)
        else:
            report = self._verify_against(Path(checkpoint), params)
        if raise_on_broken:
            report.raise_for_broken()
        return report

    def _keep_files(self, doc: Any) -> AuditReport:
        """The chains' report; the stored files' part of the answer is kept for ``verify_deliverables``
        (the CLI asks for it next), so the server does not hash every file twice."""
        self._verified_files = doc.get("files")
        return one(AuditReport)(doc)

    def _verify_against(self, file: Path, params: dict[str, Any]) -> AuditReport:
        from workflow.domain.audit.checkpoint import load_checkpoint, read_checkpoint

        text = read_checkpoint(file)
        here = load_checkpoint(text, settings.current().checkpoint_key, source=f"checkpoint {file}")
        report = self.http.call("POST", path("audit", "verify"), params=params, content=text.encode("utf-8"),
                                headers={"Content-Type": "application/json"}, timeout=LONG_TIMEOUT,
                                read=self._keep_files)
        if here.signature_state == "checked" and report.checkpoint_signature != "checked":
            # Checked here with this side's key; the server held its chains to the very same content.
            report = dataclasses.replace(report, checkpoint_signed=True, checkpoint_signature="checked")
        return report

    def checkpoint(self, *, reader: Unused = None, jobs: int | None = None,
                   actor: Unused = None) -> Checkpoint:
        """The server's checkpoint, its digest checked here; a signature on it is the server's own."""
        import json

        from workflow.domain.audit.checkpoint import load_checkpoint

        text = self.http.call("POST", path("audit", "checkpoint"), params={"jobs": inputs.jobs(jobs)},
                              timeout=LONG_TIMEOUT, read=json.dumps)
        cp = load_checkpoint(text, None, source="the server's checkpoint")
        # Signed with the server's key as it was made: as signed as one made here with a key.
        return dataclasses.replace(cp, signature_state="checked") if cp.signature is not None else cp

    def export(self, out: TextSink, fmt: str = "jsonl", *, project: str | None = None,
               reader: Unused = None, raw: bool = False, actor: Unused = None) -> int:
        """Streamed into ``out`` chunk by chunk as it arrives; returns how many events it held."""
        params = {"format": fmt, "project": None if project is None else inputs.project_code(project),
                  "raw": raw or None}
        counter = paging.RowCounter(csv=fmt == "csv")
        with self.http.stream("GET", path("audit", "export"), params=params) as response:
            for chunk in response.iter_text():
                out.write(chunk)
                counter.read(chunk)
        return counter.rows

    def report(self, code: str, *, reader: Unused = None, actor: Unused = None) -> ProjectReport:
        from workflow.reports.timeline import ProjectReport

        url = path("projects", inputs.project_code(code), "report")
        return self.http.call("GET", url, timeout=LONG_TIMEOUT, read=one(ProjectReport))

    def template_report(self, key: str, *, reader: Unused = None, actor: Unused = None) -> TemplateReport:
        from workflow.reports.timeline import TemplateReport

        url = path("templates", key, "report")
        return self.http.call("GET", url, timeout=LONG_TIMEOUT, read=one(TemplateReport))
