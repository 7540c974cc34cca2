"""The server's settings: given to ``phasegate serve`` and handed to each worker through the environment."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

from workflow.domain import limits
from workflow.domain.notify import addresses
from workflow.settings import SERVER_SETTINGS, current

ENV = SERVER_SETTINGS  # serve sets it for its workers


@dataclass(frozen=True)
class Settings:
    db: str | None = None  # None: $PHASEGATE_DB or the default SQLite file
    proxy_header: str | None = None  # e.g. X-Forwarded-User, trusted only from trusted_proxies
    trusted_proxies: tuple[str, ...] = ()  # CIDRs
    metrics_from: tuple[str, ...] = ("127.0.0.1/32", "::1/128")  # /metrics without signing in
    secure_cookies: bool = False  # set behind HTTPS
    access_log: bool = True
    pool_size: int = int(limits.POOL_SIZE.default)  # connections kept (as many again for a burst)
    pool_wait: float = float(limits.POOL_WAIT.default)  # seconds a request waits for one, then 503 busy
    tick_seconds: float = 60.0  # how often the server's own tick runs (0: never; cron runs `phasegate tick`)
    deliver: bool = True  # the outbox's worker runs in the server (False: `phasegate notify run` elsewhere)
    # CIDRs a webhook may reach besides public addresses; None: $PHASEGATE_WEBHOOK_ALLOW as serve found it
    webhook_allow: tuple[str, ...] | None = None
    header_seconds: float = limits.HEADER_SECONDS.default  # a request's headers must arrive in this
    body_seconds: float = limits.BODY_SECONDS.default  # ... and its body in this
    max_connections: int = int(limits.CONNECTIONS.default)  # per process; beyond it 503 busy
    password_checks: int = 0  # argon2 checks at once per process (0: one per core; limits.PASSWORD_CHECKS)
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default=(), compare=False)
    metric_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), compare=False
    )
    webhook_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), compare=False
    )

    def __post_init__(self) -> None:
        if self.webhook_allow is None:  # a malformed list stops `serve` with a sentence (exit 2)
            found = addresses.allow_list(current().webhook_allow)
            object.__setattr__(self, "webhook_allow", tuple(str(n) for n in found))
        object.__setattr__(self, "webhook_networks", addresses.allow_list(",".join(self.webhook_allow or ())))
        object.__setattr__(
            self, "networks", tuple(ipaddress.ip_network(c, strict=False) for c in self.trusted_proxies)
        )
        object.__setattr__(
            self, "metric_networks", tuple(ipaddress.ip_network(c, strict=False) for c in self.metrics_from)
        )

    def to_env(self) -> str:
        return json.dumps(
            {
                "db": self.db,
                "proxy_header": self.proxy_header,
                "trusted_proxies": list(self.trusted_proxies),
                "metrics_from": list(self.metrics_from),
                "secure_cookies": self.secure_cookies,
                "access_log": self.access_log,
                "pool_size": self.pool_size,
                "pool_wait": self.pool_wait,
                "tick_seconds": self.tick_seconds,
                "deliver": self.deliver,
                "webhook_allow": list(self.webhook_allow or ()),
                "header_seconds": self.header_seconds,
                "body_seconds": self.body_seconds,
                "max_connections": self.max_connections,
                "password_checks": self.password_checks,
            }
        )

    @classmethod
    def from_env(cls) -> Settings:
        raw = current().server_settings
        if not raw:
            return cls()
        d = json.loads(raw)
        return cls(
            db=d["db"],
            proxy_header=d["proxy_header"],
            trusted_proxies=tuple(d["trusted_proxies"]),
            metrics_from=tuple(d["metrics_from"]),
            secure_cookies=d["secure_cookies"],
            access_log=d["access_log"],
            pool_size=d["pool_size"],
            pool_wait=d.get("pool_wait", limits.POOL_WAIT.default),
            tick_seconds=d.get("tick_seconds", 60.0),
            deliver=d.get("deliver", True),
            webhook_allow=tuple(d.get("webhook_allow", ())),
            header_seconds=d.get("header_seconds", limits.HEADER_SECONDS.default),
            body_seconds=d.get("body_seconds", limits.BODY_SECONDS.default),
            max_connections=d.get("max_connections", int(limits.CONNECTIONS.default)),
            password_checks=d.get("password_checks", 0),
        )

    def trusts(
        self, address: str | None, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    ) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)
