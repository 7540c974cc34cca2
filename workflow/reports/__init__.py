"""Reports over a project's history: phase visits and waits (``timeline``), as text (``text``) and as
HTML (``html``)."""
