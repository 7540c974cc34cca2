"""People: accounts, passwords and API tokens (accounts), credentials to an identity (signin), and the
bound on password checks in flight (passwords)."""
