"""The gateway's settings: where it listens, how it is secured, its limits, and the cluster and Redis
store it fronts -- validated on construction, with the API keys and the Redis password never shown.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import EngineConfig
from ..errors import ConfigError
from ..store._redis_url import check_url, mask_url

__all__ = ["API_KEY_ENV", "MIN_KEY_LENGTH", "GatewaySettings", "is_loopback", "load_api_keys"]

#: The environment variable holding the API key (a file, ``--api-key-file``, is preferred: a
#: process's environment is readable by its user's other processes).
API_KEY_ENV = "PATTERNLAB_API_KEY"
#: The shortest API key accepted: a key is a random secret (``openssl rand -hex 32``), not a word.
MIN_KEY_LENGTH = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface (``localhost``, ``127.0.0.0/8``, ``::1``).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_keys(keys: list[str], where: str) -> tuple[str, ...]:
    for k, key in enumerate(keys):
        if len(key) < MIN_KEY_LENGTH or any(c.isspace() for c in key) or not key.isprintable():
            # the key itself is never shown: only where it came from and what is wrong with it
            raise ConfigError(f"API key {k + 1} of {where} is {len(key)} characters or holds spaces or "
                              f"control characters: use random keys of at least {MIN_KEY_LENGTH} "
                              "printable characters (e.g. `openssl rand -hex 32`)")
    return tuple(keys)


def load_api_keys(path: str | os.PathLike[str] | None = None, *,
                  env: str = API_KEY_ENV) -> tuple[str, ...]:
    """The API keys the gateway accepts: one per line of the file ``path`` (blank lines and lines
    starting with ``#`` ignored; several keys allow rotating them), else the environment
    variable ``env``; ``()`` when neither is set.

    Raises
    ------
    ConfigError
        The file cannot be read or holds no key, or a key is shorter than
        :data:`MIN_KEY_LENGTH`. The message never contains a key.

    Examples
    --------
    >>> import os
    >>> os.environ["PATTERNLAB_API_KEY"] = "0123456789abcdef0123"
    >>> len(load_api_keys())
    1
    >>> del os.environ["PATTERNLAB_API_KEY"]
    """
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"api key file {os.fspath(path)!r} cannot be read ({type(exc).__name__}); "
                              "pass a readable file with one key per line") from None
        keys = [line.strip() for line in text.splitlines()]
        keys = [k for k in keys if k and not k.startswith("#")]
        if not keys:
            raise ConfigError(f"api key file {os.fspath(path)!r} holds no key: write one key per line")
        return _check_keys(keys, f"the file {os.fspath(path)!r}")
    value = os.environ.get(env, "").strip()
    return _check_keys([value], f"${env}") if value else ()


def _positive(name: str, value: Any, integer: bool = True) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={value!r}: pass a positive {'integer' if integer else 'number'}")


@dataclass(frozen=True)
class GatewaySettings:
    """How ``patternlab serve`` runs. Every value is checked on construction.

    Parameters
    ----------
    host, port : str, int
        Where the HTTP server listens (default loopback only, port 8080; ``port=0``: a free one).
    api_keys : tuple of str
        Bearer tokens accepted on every endpoint but ``/health`` (:func:`load_api_keys`). Never
        shown in a repr, a log or a response.
    auth : bool
        ``False`` serves without API keys: allowed only on a loopback ``host``.
    certfile, keyfile : str, optional
        Serve HTTPS with this certificate chain and private key (PEM).
    max_body_bytes : int
        Largest request body; a larger one is answered 413.
    max_signal_length : int
        Most samples in a perceived signal; a longer one is answered 413. A signal's exact
        matrix profile costs about ``n**2 / 2`` distance updates on one worker thread (about 2 s
        at 100,000 samples, the default; 100 times that at 1,000,000), and a running task
        cannot be stopped: keep it at what one request may cost.
    request_timeout : float
        Seconds a perceive request may wait for the cluster (then 504).
    max_in_flight : int
        Requests worked on at once; more wait their turn.
    redis_url : str
        The Redis pattern store (``redis://``, ``rediss://``, ``redis+cluster://``); required.
    namespace : str
        The store's key namespace.
    scheduler : str, optional
        A Dask scheduler address; ``None``: :meth:`patternlab.Lab.from_config` (an embedded
        LocalCluster unless ``PATTERNLAB_CLUSTER`` says otherwise).
    n_workers : int, optional
        Workers of an embedded LocalCluster.
    data_dir : str, optional
        The directory batches read corpora from and write run stores into (paths in requests
        are relative to it and may not leave it); ``None`` disables batches.
    config : EngineConfig
        The engine settings of perceive and batches (a request may change only ``window``).

    Examples
    --------
    >>> from patternlab.gateway import GatewaySettings
    >>> s = GatewaySettings(redis_url="redis://:pw@localhost:6379/0", api_keys=("k" * 32,))
    >>> print(repr(s).replace(", ", ",\\n"))
    GatewaySettings(http://127.0.0.1:8080,
    auth on (1 key),
    redis://:***@localhost:6379/0 namespace 'patternlab',
    scheduler from the configuration,
    batches off)
    """

    redis_url: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    auth: bool = True
    certfile: str | None = None
    keyfile: str | None = None
    max_body_bytes: int = 16 << 20
    max_signal_length: int = 100_000
    request_timeout: float = 120.0
    max_in_flight: int = 32
    namespace: str = "patternlab"
    scheduler: str | None = None
    n_workers: int | None = None
    data_dir: str | None = None
    config: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.redis_url, str) or not self.redis_url:
            raise ConfigError("the gateway needs a Redis pattern store: pass --redis URL (or set "
                              "PATTERNLAB_REDIS_URL), e.g. redis://:PASSWORD@localhost:6379/0")
        check_url(self.redis_url, "redis_url")
        if not isinstance(self.host, str) or not self.host:
            raise ConfigError(f"host={self.host!r}: pass an interface such as 127.0.0.1")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ConfigError(f"port={self.port!r}: pass 0 .. 65535")
        object.__setattr__(self, "api_keys", _check_keys(list(self.api_keys), "api_keys"))
        if self.auth and not self.api_keys:
            raise ConfigError("no API key: pass --api-key-file FILE (one key per line) or set "
                              f"${API_KEY_ENV}; --no-auth is allowed only on a loopback --host")
        if not self.auth and not is_loopback(self.host):
            raise ConfigError(f"--no-auth with host={self.host!r}: serving without API keys is allowed "
                              "only on loopback (127.0.0.1, ::1, localhost); give the gateway a key")
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError("TLS needs both --certfile and --keyfile (PEM certificate chain and key)")
        for name in ("certfile", "keyfile"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name}={path!r}: no such file")
        for name in ("max_body_bytes", "max_signal_length", "max_in_flight"):
            _positive(name, getattr(self, name))
        _positive("request_timeout", self.request_timeout, integer=False)
        if self.n_workers is not None:
            _positive("n_workers", self.n_workers)
        if not isinstance(self.namespace, str) or not self.namespace:
            raise ConfigError(f"namespace={self.namespace!r}: pass a non-empty string")
        if self.data_dir is not None and not Path(self.data_dir).is_dir():
            raise ConfigError(f"data_dir={self.data_dir!r} is not a directory: create it or pass another")
        if not isinstance(self.config, EngineConfig):
            raise ConfigError(f"config={self.config!r}: pass an EngineConfig")

    @property
    def tls(self) -> bool:
        """Whether the gateway serves HTTPS."""
        return self.certfile is not None

    @property
    def url(self) -> str:
        """The base URL (with the configured port; ``0`` until the server has picked one)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def replace(self, **changes: Any) -> GatewaySettings:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        auth = f"auth on ({len(self.api_keys)} key{'s' if len(self.api_keys) != 1 else ''})" if self.auth \
            else "auth off (loopback)"
        sched = self.scheduler or "from the configuration"
        batches = f"batches in {self.data_dir!r}" if self.data_dir else "batches off"
        return (f"GatewaySettings({self.url}, {auth}, {mask_url(self.redis_url)} namespace "
                f"{self.namespace!r}, scheduler {sched}, {batches})")
