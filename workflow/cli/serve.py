"""``phasegate serve``: the HTTP API and the web app (imports the server only when it runs)."""

from __future__ import annotations

import click

from workflow.cli.app import Session, cli, pass_session
from workflow.domain import limits


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="The TCP port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (PostgreSQL; SQLite is served by one).")
@click.option("--proxy-header", metavar="NAME",
              help="Trust this header as the login name (single sign-on), from --trusted-proxy only.")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="CIDR",
              help="An address or network of the reverse proxy in front (repeatable): its X-Forwarded-For "
                   "says who the client is (sign-ins are slowed per client), and its --proxy-header who "
                   "signed in.")
@click.option("--metrics-from", "metrics_from", multiple=True, metavar="CIDR",
              help="Who may read /metrics without signing in (default: this host).")
@click.option("--secure-cookies", is_flag=True,
              help="Mark the session and device cookies Secure (serving behind HTTPS).")
@click.option("--tick-every", "tick_seconds", default=60.0, show_default=True,
              type=click.FloatRange(0, 86400), metavar="SECONDS",
              help="Run `phasegate tick` this often inside the server (0: never).")
@click.option("--no-deliver", "no_deliver", is_flag=True,
              help="Do not deliver notifications in the server (run `phasegate notify run` instead).")
@click.option("--password-checks", default=0, show_default=True, type=click.IntRange(0, 1024), metavar="N",
              help="Password checks at once per worker (argon2, 64 MiB each; beyond it a sign-in is "
                   "answered 503 Busy). 0: one per CPU core.")
@click.option("--pool-size", default=int(limits.POOL_SIZE.default), show_default=True,
              type=click.IntRange(1, 1000), help="Database connections kept by each worker (as many again "
              "for a burst).")
@click.option("--pool-wait", default=float(limits.POOL_WAIT.default), show_default=True,
              type=click.FloatRange(0.1, 300), metavar="SECONDS",
              help="How long a request waits for a database connection before it is answered 503 busy.")
@click.option("--header-timeout", "header_seconds", default=float(limits.HEADER_SECONDS.default),
              show_default=True, type=click.FloatRange(0.5, 3600), metavar="SECONDS",
              help="Close a connection whose request's headers have not all arrived in this time (408).")
@click.option("--body-timeout", "body_seconds", default=float(limits.BODY_SECONDS.default),
              show_default=True, type=click.FloatRange(0.5, 3600), metavar="SECONDS",
              help="Refuse a request whose body has not all arrived in this time (408).")
@click.option("--max-connections", default=int(limits.CONNECTIONS.default), show_default=True,
              type=click.IntRange(1, 100_000), metavar="N",
              help="Open connections per worker; a request beyond them is answered 503 (busy).")
@pass_session
def serve(s: Session, host: str, port: int, workers: int, proxy_header: str | None,
          trusted_proxies: tuple[str, ...], metrics_from: tuple[str, ...], secure_cookies: bool,
          tick_seconds: float, no_deliver: bool, password_checks: int,
          pool_size: int, pool_wait: float, header_seconds: float, body_seconds: float,
          max_connections: int) -> None:
    """Serve the HTTP API (/api/v1) and the web app (/) on one port, over the --db database."""
    from workflow.server.serve import serve as run
    from workflow.server.settings import Settings

    if s.server is not None:
        raise click.UsageError("serve runs a server on a database (--db); --server is for using one")
    if proxy_header and not trusted_proxies:
        raise click.UsageError("--proxy-header needs at least one --trusted-proxy address")
    settings = Settings(db=s.db, proxy_header=proxy_header, trusted_proxies=trusted_proxies,
                        metrics_from=metrics_from or ("127.0.0.1/32", "::1/128"),
                        secure_cookies=secure_cookies, tick_seconds=tick_seconds, deliver=not no_deliver,
                        password_checks=password_checks, pool_size=pool_size, pool_wait=pool_wait,
                        header_seconds=header_seconds, body_seconds=body_seconds,
                        max_connections=max_connections)
    run(settings, host=host, port=port, workers=workers)
