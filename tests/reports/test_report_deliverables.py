"""Reports name, for each gate passed, the deliverables' versions its approvals signed (issue 23):
the text report with the short sha256, the HTML report with a link to each version's download; a
new version voiding an approval shows in the trail as what voided it."""

from __future__ import annotations

import hashlib
import io
import re

from support.deliverables import TEAM, at_sow_estimate, pdf, xlsx

from workflow import Engine
from workflow.reports.html import render_html
from workflow.reports.text import report_lines


def test_each_gate_passed_names_the_versions_it_was_passed_with(db_url: str) -> None:
    with Engine(db_url) as engine:
        at_sow_estimate(engine)
        sow, v1, v2 = pdf(), xlsx(), xlsx()
        engine.add_deliverable("L-1", "sow_doc", io.BytesIO(sow), name="sow.pdf", actor="ana")
        engine.add_deliverable("L-1", "estimate", io.BytesIO(v1), name="e1.xlsx", actor="cy")
        for role, person in TEAM.items():
            engine.complete_task("L-1", role, actor=person)
        engine.approve("L-1", "head_of_technology", actor="bo")
        engine.add_deliverable("L-1", "estimate", io.BytesIO(v2), name="e2.xlsx", actor="cy")  # voids bo's
        engine.approve("L-1", "head_of_technology", actor="bo")
        engine.approve("L-1", "integrated_producer", actor="ana")
        engine.advance("L-1", actor="ana")
        report = engine.report("L-1")
    sow_sha, v2_sha = hashlib.sha256(sow).hexdigest(), hashlib.sha256(v2).hexdigest()
    visit = next(v for v in report.visits if v.phase == "sow_estimate")
    assert [(p.key, p.version, p.sha256) for p in visit.passed_with] == [("estimate", 2, v2_sha),
                                                                          ("sow_doc", 1, sow_sha)]
    assert [v.passed_with for v in report.visits if v.phase != "sow_estimate"] == [[], [], []]
    assert [(w.approval.person, w.action) for w in visit.voided] == [("bo", "deliverable.add")]

    text = "\n".join(report_lines(report))
    assert f"passed with: Estimate v2 (sha256 {v2_sha[:12]}), Statement of work v1 (sha256 {sow_sha[:12]})" in text
    assert "cy added a new version of what it signed" in text

    page = render_html(report)
    link = re.search(r'<a href="([^"]+)" title="sha256 ' + v2_sha + r'">Estimate v2</a>', page)
    assert link is not None
    assert link.group(1) == "/api/v1/projects/L-1/deliverables/estimate?version=2&amp;phase=sow_estimate"
    assert f"<code>{v2_sha[:12]}</code>" in page
