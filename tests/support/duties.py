"""A two-phase template whose QA gate is kept apart from the SOW's signers (issue 26): the staffing
check's domain and engine tests, and the duties rules' tests, read the same process."""

DUTIES_TEMPLATE = """
key: duties
title: Duties
lead: pm
roles:
  pm: {title: Producer}
  tech: {title: Head of Technology}
  qa: {title: QA Lead}
phases:
  - key: sow
    title: SOW
    tasks: {pm: Write the SOW}
    gate: {title: SOW signed, approvers: [pm, tech]}
  - key: build
    title: Build
    tasks: {qa: Test it}
    gate: {title: QA sign-off, approvers: [qa, tech], distinct_from: [sow]}
"""
