"""Which network addresses a webhook may be posted to: public ones, and the networks an admin allows.

A webhook is a URL an admin typed that the server then posts to, from inside the network it
runs in: aimed at ``127.0.0.1``, ``169.254.169.254`` or ``10.0.0.5`` it would reach the
server's own sign-in, a cloud's metadata service or a database (server-side request
forgery). Following the OWASP SSRF Prevention Cheat Sheet, phasegate refuses by default
every address that is not public — loopback, link-local, private, multicast, reserved,
unspecified, shared (carrier NAT), documentation — in IPv4 and IPv6, and an IPv6 address
that carries an IPv4 one (``::ffff:127.0.0.1``, 6to4, NAT64) is judged by the IPv4 address
it carries. ``PHASEGATE_WEBHOOK_ALLOW`` (comma-separated CIDRs, read by the processes that
add and deliver webhooks) lets internal receivers through, explicitly.

A host is checked twice: when the webhook is added (a literal address in any spelling
:func:`literal` knows, or what the name resolves to) and at delivery, on the very address
connected to (:mod:`workflow.delivery.webhooks`), so a name that resolves elsewhere later
(DNS rebinding) is caught where it matters. Pure: resolving a name is the caller's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from workflow import settings
from workflow.errors import UsageError

ALLOW_ENV = settings.WEBHOOK_ALLOW

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")  # the deprecated "IPv4-compatible" ::a.b.c.d
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)")


def allow_list(text: str | None) -> tuple[Network, ...]:
    """The networks ``PHASEGATE_WEBHOOK_ALLOW`` names (``"127.0.0.0/8,10.0.0.0/8"``; empty: none)."""
    networks = []
    for item in (text or "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise UsageError(f"{ALLOW_ENV} is a comma-separated list of networks such as 127.0.0.0/8 or "
                             f"fd00::/8; {item.strip()!r} is not one") from None
    return tuple(networks)


def literal(host: str) -> Address | None:
    """The address ``host`` spells (a URL's host, brackets stripped), None for a name.

    Every IPv4 spelling a resolver accepts counts (WHATWG URL's IPv4 parser, as ``inet_aton``):
    one to four parts, each decimal, octal (``0177``) or hex (``0x7f``), the last filling the
    bytes left — ``127.1``, ``2130706433`` and ``0x7f.0.0.1`` are all 127.0.0.1. A host whose
    last part is a number but that is no address (``256.1.1.1``) is refused.
    """
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"{host!r} is not an IPv6 address") from None
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # "127.0.0.1." is 127.0.0.1
    if not parts or not _NUMBER.fullmatch(parts[-1]):
        return None  # a name
    numbers = [_number(part) for part in parts]
    if len(numbers) > 4 or any(n is None for n in numbers):
        raise UsageError(f"{host!r} is neither a name nor an IPv4 address")
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise UsageError(f"{host!r} is neither a name nor an IPv4 address")
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(head))
    return ipaddress.IPv4Address(value)


def _number(part: str) -> int | None:
    if not _NUMBER.fullmatch(part):
        return None
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def carried(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible), or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and (address in _NAT64 or (address in _COMPATIBLE and int(address) > 1)):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return inner
    return address


def kind(address: Address) -> str | None:
    """Why ``address`` is not public ("a loopback address", …), None when it is."""
    a = carried(address)
    if a.is_unspecified:
        return "the unspecified address"
    if a.is_loopback:
        return "a loopback address"
    if a.is_link_local:
        return "a link-local address"
    if a.is_multicast:
        return "a multicast address"
    if a.is_private:
        return "a private address"
    if a.is_reserved:
        return "a reserved address"
    if not a.is_global:
        return "not a public address"
    return None


def allowed(address: Address, allow: Iterable[Network]) -> bool:
    inner = carried(address)
    return any(address in net or inner in net for net in allow)


def refusal(address: Address, allow: Iterable[Network], host: str | None = None) -> str | None:
    """The sentence refusing a post to ``address`` (``host`` as the URL names it), or None: it may go."""
    allow = tuple(allow)
    why = kind(address)
    if why is None or allowed(address, allow):
        return None
    shown = str(address) if host in (None, str(address)) else f"{host} ({address})"
    return (f"{shown} is {why}: phasegate posts webhooks only to public addresses, unless {ALLOW_ENV} "
            f"lists its network (for example {ALLOW_ENV}={_example(address)})")


# The blocks an internal receiver usually sits in, for the refusal's example (else the address alone).
_BLOCKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10",
    "::1/128", "fc00::/7", "fe80::/10"))


def _example(address: Address) -> str:
    a = carried(address)
    block = next((net for net in _BLOCKS if a in net), None)
    return str(block or ipaddress.ip_network(a))
