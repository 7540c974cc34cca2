"""``phasegate serve``: the HTTP API and the web app, on the same Engine and the same rules.

============  ====================================================================
``app.py``    builds the FastAPI app: the Engine per process, middleware, routers
``auth.py``   credentials -> Identity: the only place identity is decided
``errors.py`` the engine's refusals as HTTP statuses and one JSON error body
``api/``      one router per resource: me, people, templates, projects, audit
``observe.py`` health, readiness, Prometheus metrics, one JSON access-log line a request
``serve.py``  running it: uvicorn, workers, graceful shutdown
============  ====================================================================

Nothing here is imported by a CLI command that does not serve (a design-guard test).
"""
