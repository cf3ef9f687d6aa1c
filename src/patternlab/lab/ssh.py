"""The SSH cluster of :meth:`patternlab.Lab.ssh`: ``distributed.SSHCluster``'s scheduler and worker
processes (:mod:`distributed.deploy.ssh`, started over asyncssh) in a SpecCluster whose workers
carry their spec names, so that ``scale``/``adapt`` can add workers round-robin over the worker
hosts and retire exactly the workers Dask chose."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from distributed.deploy import ssh as _dssh
from distributed.deploy.spec import SpecCluster

from ..errors import InvalidParameterError

__all__ = ["SSHLabCluster", "ssh_cluster"]

# Security attribute -> Dask configuration key, for the remote processes
_TLS_CONFIG = {
    "tls_ca_file": "DASK_DISTRIBUTED__COMM__TLS__CA_FILE",
    "tls_ciphers": "DASK_DISTRIBUTED__COMM__TLS__CIPHERS",
    "tls_client_key": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY",
    "tls_client_cert": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT",
    "tls_scheduler_key": "DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__KEY",
    "tls_scheduler_cert": "DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__CERT",
    "tls_worker_key": "DASK_DISTRIBUTED__COMM__TLS__WORKER__KEY",
    "tls_worker_cert": "DASK_DISTRIBUTED__COMM__TLS__WORKER__CERT",
}


#: How long a remote worker waits for its scheduler before it exits (unless ``worker_options``
#: says otherwise): a worker that was still starting when the cluster closed has no scheduler to
#: tell it to stop, and the SSH signal that closes it reaches only the remote shell.
DEATH_TIMEOUT = "15s"


class NamedSSHWorker(_dssh.Worker):
    """``distributed.deploy.ssh.Worker`` whose remote worker registers under its spec name and
    exits when its scheduler is gone for :data:`DEATH_TIMEOUT`."""

    def __init__(self, scheduler: str, address: str, connect_options: dict[str, Any],
                 kwargs: dict[str, Any], worker_class: str = "distributed.Nanny",
                 remote_python: str | None = None, name: Any = None) -> None:
        kwargs = dict(kwargs)
        kwargs.setdefault("death_timeout", DEATH_TIMEOUT)
        if name is not None:
            kwargs.setdefault("name", name)
        super().__init__(scheduler, address, connect_options, kwargs, worker_class=worker_class,
                         remote_python=remote_python, name=name)


class SSHLabCluster(SpecCluster):
    """A SpecCluster of SSH processes; new workers go round-robin over ``templates``."""

    def __init__(self, workers: dict[Any, dict[str, Any]], scheduler: dict[str, Any],
                 templates: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        self._templates = list(templates)
        super().__init__(workers, scheduler, worker=self._templates[0], name="SSHCluster", **kwargs)

    def new_worker_spec(self) -> dict[Any, dict[str, Any]]:
        name = self._new_worker_name(self._i)
        while name in self.worker_spec:
            self._i += 1
            name = self._new_worker_name(self._i)
        return {name: self._templates[int(name) % len(self._templates)]}


def tls_environment(security: Any) -> dict[str, str]:
    """The Dask configuration of ``security`` as environment variables, for remote processes."""
    env = {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": str(bool(security.require_encryption))}
    for attr, variable in _TLS_CONFIG.items():
        value = getattr(security, attr, None)
        if value:
            env[variable] = str(value)
    return env


def _per_host(value: Any, hosts: Sequence[str], name: str) -> list[Any]:
    if isinstance(value, list):
        if len(value) != len(hosts):
            raise InvalidParameterError(f"{name} has {len(value)} entries for {len(hosts)} hosts: pass "
                                        "one per host, or a single value for all")
        return list(value)
    return [value] * len(hosts)


def ssh_cluster(hosts: Sequence[str], *, connect_options: dict[str, Any] | list[dict[str, Any]] | None = None,
                worker_options: dict[str, Any] | None = None,
                scheduler_options: dict[str, Any] | None = None,
                worker_class: str = "distributed.Nanny", remote_python: str | list[str] | None = None,
                security: Any = None, **kwargs: Any) -> SSHLabCluster:
    """Start a scheduler on ``hosts[0]`` and one worker on each of ``hosts[1:]`` over SSH (see
    :meth:`patternlab.Lab.ssh`)."""
    import sys

    if isinstance(hosts, str) or not isinstance(hosts, Sequence) or len(hosts) < 2 or not all(
            isinstance(h, str) and h for h in hosts):
        raise InvalidParameterError(
            f"hosts={hosts!r}: pass a list of at least two host names, the scheduler's first and then "
            "one per worker (repeat a host to run the scheduler and a worker, or several workers, on it)")
    worker_options = dict(worker_options or {})
    if int(worker_options.get("n_workers", 1)) != 1:
        raise InvalidParameterError(f"worker_options n_workers={worker_options['n_workers']!r}: list a "
                                    "host once per worker instead")
    worker_options.pop("n_workers", None)
    scheduler_options = dict(scheduler_options or {})
    options = _per_host(connect_options or {}, hosts, "connect_options")
    pythons = _per_host(remote_python, hosts, "remote_python")
    pythons = [p or sys.executable for p in pythons]
    if security is not None:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in tls_environment(security).items())
        pythons = [f"env {env} {p}" for p in pythons]
        if security.require_encryption:
            scheduler_options.setdefault("protocol", "tls")
        kwargs["security"] = security
    scheduler = {"cls": _dssh.Scheduler,
                 "options": {"address": hosts[0], "connect_options": options[0],
                             "kwargs": scheduler_options, "remote_python": pythons[0]}}
    templates = [{"cls": NamedSSHWorker,
                  "options": {"address": host, "connect_options": opts, "kwargs": worker_options,
                              "worker_class": worker_class, "remote_python": python}}
                 for host, opts, python in zip(hosts[1:], options[1:], pythons[1:])]
    workers = {i: templates[i] for i in range(len(templates))}
    return SSHLabCluster(workers, scheduler, templates, **kwargs)
