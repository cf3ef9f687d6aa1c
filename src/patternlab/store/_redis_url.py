"""Redis URLs without redis-py: masking the password for messages and checking every part of a URL
(scheme, host, port, database) so that a typo is a :class:`~patternlab.errors.ConfigError` naming
the part that is wrong, with the password masked, instead of a ``ValueError`` from deep inside
redis-py or a silently different database."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from ..errors import ConfigError

__all__ = ["CLUSTER_SCHEMES", "SINGLE_SCHEMES", "ParsedURL", "check_url", "mask_url"]

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SINGLE_SCHEMES = ("redis", "rediss", "unix")
_EXAMPLE = "'redis://[:PASSWORD@]HOST:PORT/DB'"


def mask_url(url: str) -> str:
    """``url`` with the password of its ``user:password@`` (or ``password@``) part replaced by ``***``.

    Examples
    --------
    >>> mask_url("redis://:hunter2@redis.internal:6379/0")
    'redis://:***@redis.internal:6379/0'
    >>> mask_url("rediss://app:hunter2@h:6380/1")
    'rediss://app:***@h:6380/1'
    """
    if not isinstance(url, str):
        return repr(type(url).__name__)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***" if "@" in url else url
    netloc_end = len(rest)
    for stop in ("/", "?", "#"):
        i = rest.find(stop)
        if 0 <= i < netloc_end:
            netloc_end = i
    netloc, tail = rest[:netloc_end], rest[netloc_end:]
    if "@" not in netloc:
        # a password that itself contains '/', '?' or '#' ends the netloc early: mask up to the last '@'
        at = rest.rfind("@")
        if at < 0:
            return url
        return f"{scheme}://{_mask_cred(rest[:at])}@{rest[at + 1:]}"
    cred, _, hosts = netloc.rpartition("@")
    return f"{scheme}://{_mask_cred(cred)}@{hosts}{tail}"


def _mask_cred(cred: str) -> str:
    if ":" in cred:
        return f"{cred.split(':', 1)[0]}:***"
    return "***"


@dataclass(frozen=True)
class ParsedURL:
    """The checked parts of a Redis URL."""

    scheme: str
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    db: int | None


def _bad(url: str, what: str, part: str, why: str) -> ConfigError:
    return ConfigError(f"{what}={mask_url(url)!r}: {part} {why}")


def _host_port(text: str, url: str, what: str, default_port: int | None) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise _bad(url, what, "the IPv6 address", f"{text!r} has no closing ']': write it as "
                       "'[::1]:6379'")
        host, rest = text[1:end], text[end + 1:]
        if not host or ":" not in host:
            raise _bad(url, what, "the IPv6 address", f"[{host}] is not an IPv6 address: write "
                       "'[::1]:6379' (brackets only around IPv6 addresses)")
        if rest and not rest.startswith(":"):
            raise _bad(url, what, "the host", f"{text!r} has {rest!r} after ']': write '[IPV6]:PORT'")
        port_text = rest[1:] if rest else ""
    else:
        if "]" in text:
            raise _bad(url, what, "the host", f"{text!r} has a ']' without '[': write IPv6 addresses "
                       "as '[::1]:6379'")
        if text.count(":") > 1:
            raise _bad(url, what, "the host", f"{text!r} looks like an IPv6 address without brackets: "
                       "write it as '[::1]:6379'")
        host, colon, port_text = text.partition(":")
        if colon and not port_text:
            raise _bad(url, what, "the port", f"is empty after {host + ':'!r}: write HOST:PORT, e.g. "
                       f"'{host or 'localhost'}:6379'")
    if port_text == "":
        if default_port is None:
            raise _bad(url, what, "the node", f"{text!r} has no port: write host:port, e.g. "
                       "'10.0.0.5:7000'")
        port = default_port
    else:
        if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
            raise _bad(url, what, "the port", f"{port_text!r} is not a port number: pass an integer in "
                       "1..65535 (Redis listens on 6379 by default)")
        port = int(port_text)
    if any(c.isspace() for c in host):
        raise _bad(url, what, "the host", f"{host!r} contains white space")
    return host or "localhost", port


def _credentials(cred: str) -> tuple[str | None, str | None]:
    if not cred:
        return None, None
    user, sep, pw = cred.partition(":")
    if not sep:  # "redis://secret@host": a password alone
        return None, unquote(user)
    return unquote(user) or None, unquote(pw)


def check_url(url: str, what: str = "url") -> ParsedURL:
    """Check every part of a Redis URL and return them; a wrong part raises
    :class:`~patternlab.errors.ConfigError` naming it (``what`` names the setting), with the
    password masked.

    Examples
    --------
    >>> check_url("redis://:pw@localhost:6380/2").db
    2
    >>> check_url("redis://:pw@localhost:6380/notadb")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    patternlab.errors.ConfigError: url='redis://:***@localhost:6380/notadb': the database '/notadb' ...
    """
    if not isinstance(url, str) or "://" not in url:
        shown = mask_url(url) if isinstance(url, str) else type(url).__name__
        raise ConfigError(f"{what}={shown!r} is not a URL: pass e.g. {_EXAMPLE}")
    scheme_text, _, rest = url.partition("://")
    scheme = scheme_text.lower()
    if scheme not in SINGLE_SCHEMES + CLUSTER_SCHEMES:
        raise _bad(url, what, "the scheme", f"{scheme_text!r} is unknown: use redis://, rediss:// (TLS), "
                   "unix://, or redis+cluster://host:port,host:port (rediss+cluster:// with TLS)")
    rest, _, query = rest.partition("?")
    rest = rest.partition("#")[0]
    at = rest.rfind("@")
    cred, after = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    user, password = _credentials(cred)
    netloc, _, path = after.partition("/")
    db: int | None = None
    if scheme == "unix":
        if not path:
            raise _bad(url, what, "the socket path", "is missing: write unix:///path/to/redis.sock")
        nodes: tuple[tuple[str, int], ...] = ()
    elif scheme in CLUSTER_SCHEMES:
        hosts = [h for h in netloc.split(",") if h.strip()]
        if not hosts:
            raise _bad(url, what, "the node list", "is empty: write redis+cluster://host1:port1,host2:port2")
        nodes = tuple(_host_port(h, url, what, None) for h in hosts)
        if path.strip("/"):
            raise _bad(url, what, "the database", f"'/{path}' is not allowed: a Redis Cluster has only "
                       "db 0; drop the path")
    else:
        if "," in netloc:
            raise _bad(url, what, "the host", f"{netloc!r} names several nodes: write "
                       "redis+cluster://host1:port1,host2:port2 for a Redis Cluster")
        nodes = (_host_port(netloc, url, what, 6379),)
        if path:
            if not (path.isascii() and path.isdigit()):
                raise _bad(url, what, "the database", f"'/{path}' is not a number: end the URL with "
                           "/0 .. /15 (or nothing for db 0)")
            db = int(path)
    if query:
        for key, values in parse_qs(query, keep_blank_values=True).items():
            if key == "db" and not all(v.isascii() and v.isdigit() for v in values):
                raise _bad(url, what, "the database", f"db={values[0]!r} is not a number: pass db=0 .. 15")
            if key == "db":
                db = int(values[-1])
    return ParsedURL(scheme, nodes, user, password, db)
