"""A real SSH server on loopback for the SSH cluster tests.

:class:`LoopbackSSHServer` runs an asyncssh server on ``127.0.0.1`` (a free port) in a thread of
its own, with a generated host key and a generated client key (public-key authentication only;
the client checks the host key against a generated ``known_hosts``). Each command a client sends
runs in a real shell (``/bin/sh -c``, in a new session, as OpenSSH's sshd does), with its stdin,
stdout and stderr forwarded, and the signals the client sends delivered to it. Like sshd without a
terminal, a dropped connection does not kill the command: what the client leaves running stays
running, so tests can check that the client stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import signal
import threading
from pathlib import Path
from typing import Any

import asyncssh
import psutil


class LoopbackSSHServer:
    """An SSH server on 127.0.0.1 that executes commands in real shell subprocesses."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.session_pids: list[int] = []  # the shells started for the clients' commands
        self.commands: list[str] = []
        self._procs: list[asyncio.subprocess.Process] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ssh-server", daemon=True)
        self._server: Any = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> LoopbackSSHServer:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key.write_private_key(str(d / "id_ed25519"))
        os.chmod(d / "id_ed25519", 0o600)
        (d / "authorized_keys").write_bytes(client_key.export_public_key())
        self._thread.start()

        async def listen() -> Any:
            return await asyncssh.create_server(
                asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[host_key],
                authorized_client_keys=str(d / "authorized_keys"), process_factory=self._session,
                encoding=None, allow_scp=False)

        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(30)
        self.port = int(self._server.sockets[0].getsockname()[1])
        public = host_key.export_public_key().decode().split()
        (d / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n")
        return self

    def stop(self) -> list[int]:
        """Close the server, kill what is left of the commands' sessions, return their pids."""
        left = self.leftover_pids()
        for pid in left:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
        return left

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for proc in self._procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for proc in self._procs:
            proc._transport.close()  # type: ignore[attr-defined]  # its pipes, before the loop closes
        await asyncio.sleep(0)

    @property
    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments of ``asyncssh.connect`` (``distributed.SSHCluster``'s connect_options)."""
        return {"port": self.port, "username": getpass.getuser(),
                "known_hosts": str(self.directory / "known_hosts"),
                "client_keys": [str(self.directory / "id_ed25519")], "config": None,
                "agent_path": None}

    def leftover_pids(self) -> list[int]:
        """Processes still alive in the sessions of the commands (their process groups)."""
        groups = set(self.session_pids)
        out = []
        for p in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
                if os.getpgid(p.pid) in groups and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p.pid)
        return out

    # -- one client command ---------------------------------------------------------------------
    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        command = process.command
        if not command:
            process.stderr.write(b"this server runs commands only\n")
            process.exit(1)
            return
        self.commands.append(command)
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        self.session_pids.append(proc.pid)
        self._procs.append(proc)

        async def pump(reader: asyncio.StreamReader, writer: Any) -> None:
            open_ = True
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                if open_:
                    try:
                        writer.write(data)
                    except (OSError, asyncssh.Error):
                        open_ = False  # the client is gone: drain and discard, as sshd would

        async def feed() -> None:
            assert proc.stdin is not None
            while True:
                try:
                    data = await process.stdin.read(65536)
                except asyncssh.SignalReceived as exc:
                    sig = getattr(signal, f"SIG{exc.signal}", None)
                    if sig is not None and proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(proc.pid, sig)
                    continue
                except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                    continue
                except (OSError, asyncssh.Error):
                    data = b""
                if not data:
                    with contextlib.suppress(OSError):
                        proc.stdin.close()
                    return
                try:
                    proc.stdin.write(data)
                    await proc.stdin.drain()
                except OSError:
                    return

        assert proc.stdout is not None and proc.stderr is not None
        feeder = asyncio.ensure_future(feed())
        await asyncio.gather(pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr))
        rc = await proc.wait()
        feeder.cancel()
        with contextlib.suppress(OSError, asyncssh.Error):
            if rc < 0:
                process.exit_with_signal(signal.Signals(-rc).name[3:])
            else:
                process.exit(rc)
