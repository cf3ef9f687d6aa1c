"""TLS between client, scheduler and workers through distributed.Security: Lab.local with a temporary
certificate, Lab.connect with and without one, and certificates made by openssl handed to
``patternlab start`` and to Lab.connect through Dask's configuration. (Lab.ssh over TLS:
tests/test_ssh.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import dask.config
import numpy as np
import pytest
from distributed import Security

import patternlab as pl
from patternlab.datasets.synthetic import planted_signal

CFG = pl.EngineConfig(window=32, top_k=2)
SIGNALS = [planted_signal(900, 32, seed=i, occurrences=2).signal for i in range(4)]


def _want(batch_size: int = 2) -> pl.PatternLibrary:
    return pl.batch_perceive(SIGNALS, config=CFG, client=False, batch_size=batch_size,
                             progress=False).library


def test_local_lab_with_a_temporary_certificate() -> None:
    security = Security.temporary()
    with pl.Lab.local(n_workers=1, security=security) as lab:
        address = lab.scheduler_address
        assert address.startswith("tls://")
        assert all(w.startswith("tls://") for w in lab.client.scheduler_info()["workers"])
        got = lab.batch_perceive(SIGNALS, config=CFG, batch_size=2, progress=False)
        assert np.array_equal(got.library.prototypes, _want().prototypes)

        with pytest.raises(pl.ClusterConnectionError, match="speaks TLS") as info:
            pl.Lab.connect(address, timeout="5s")
        assert "security=" in str(info.value)
        with pytest.raises(pl.ClusterConnectionError, match="cannot reach"):  # plain TCP is refused
            pl.Lab.connect(address.replace("tls://", "tcp://"), timeout="2s")
        with pytest.raises(pl.ClusterConnectionError):  # another certificate is not trusted
            pl.Lab.connect(address, security=Security.temporary(), timeout="2s")
        with pl.Lab.connect(address, security=security) as other:
            assert len(other.client.scheduler_info()["workers"]) == 1
            assert other.batch_perceive(SIGNALS, config=CFG, batch_size=4, progress=False).library.ids == \
                _want(4).ids


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, str]:
    """A CA and a certificate it signed, made by openssl (the files an administrator would hand out)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "2", "-subj", "/CN=patternlab test CA", cwd=tmp_path)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
             "-subj", "/CN=dask-node", cwd=tmp_path)
    (tmp_path / "ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                                      "extendedKeyUsage=serverAuth,clientAuth\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "node.pem", "-days", "2", "-extfile", "ext.cnf", cwd=tmp_path)
    return {"ca": str(tmp_path / "ca.pem"), "cert": str(tmp_path / "node.pem"),
            "key": str(tmp_path / "node.key")}


def _dask_tls_environment(c: dict[str, str]) -> dict[str, str]:
    env = {"DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
           "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": c["ca"]}
    for role in ("SCHEDULER", "WORKER", "CLIENT"):
        env[f"DASK_DISTRIBUTED__COMM__TLS__{role}__CERT"] = c["cert"]
        env[f"DASK_DISTRIBUTED__COMM__TLS__{role}__KEY"] = c["key"]
    return env


def test_openssl_certificates_through_dask_config(certificates: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATTERNLAB_", "DASK_"))}
    env.update(_dask_tls_environment(certificates))
    with (tmp_path / "start.log").open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "patternlab", "start", "--workers", "1"], env=env,
                                stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            address = ""
            for line in proc.stdout:
                if "Dask scheduler at" in line:
                    address = line.split("Dask scheduler at", 1)[1].strip()
                if "Press Ctrl-C" in line:
                    break
            assert address.startswith("tls://"), (address, (tmp_path / "start.log").read_text()[-2000:])
            # the same certificates in this process's Dask config: Lab.connect needs no argument
            config = {"distributed.comm.require-encryption": True,
                      "distributed.comm.tls.ca-file": certificates["ca"],
                      "distributed.comm.tls.client.cert": certificates["cert"],
                      "distributed.comm.tls.client.key": certificates["key"]}
            with dask.config.set(config), pl.Lab.connect(address) as lab:
                got = lab.batch_perceive(SIGNALS, config=CFG, batch_size=2, progress=False)
            assert np.array_equal(got.library.prototypes, _want().prototypes)
            explicit = Security(tls_ca_file=certificates["ca"], tls_client_cert=certificates["cert"],
                                tls_client_key=certificates["key"], require_encryption=True)
            with pl.Lab.connect(address, security=explicit) as lab:
                assert len(lab.client.scheduler_info()["workers"]) == 1
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
            assert proc.stdout is not None
            proc.stdout.close()
