"""The rows of outside signers' invitations (issue 24): :mod:`workflow.storage.links.invitations`."""
