"""Process templates: read safely (reader), checked against the schema (schema, shape, loader), as
frozen data (definition), compiled into a state machine (machine, version), drawn (diagram) and shown
(document)."""
