"""Outside signers (issue 24): what a signing link shows (:mod:`workflow.domain.links.view`)."""
