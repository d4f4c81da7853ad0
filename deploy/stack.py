"""Start Onefold's production setup (README, "Operations") for a test or a benchmark.

granian serving `crm.wsgi` as the README says, with DEBUG off, and Debian's nginx in front of it
configured by the shipped `deploy/nginx/onefold.conf` (only its lines marked "onefold:" are
adapted: the ports and the log files). Both listen on free ports of 127.0.0.1.

    stack = start_stack(env={"DATABASE_URL": ...}, proxy=True)
    ... http://127.0.0.1:{stack.proxy_port}/ (through nginx), {stack.app_port} (granian bare)
    stack.stop()
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX_SITE = ROOT / "deploy" / "nginx" / "onefold.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_missing() -> str | None:
    """Why the front proxy cannot run here (None when it can)."""
    if not os.path.exists(NGINX):
        return "nginx is not installed (apt-get install nginx; .ci/run does)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def granian_command(*, port: int, workers: int = 2, threads: int = 4) -> list[str]:
    """The production server, as README "Operations" starts it (behind nginx)."""
    return [
        str(Path(sys.executable).parent / "granian"), "--interface", "wsgi",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--blocking-threads", str(threads), "--log-level", "warning", "crm.wsgi:application",
    ]


def nginx_conf(*, workdir: Path, listen: int, app_port: int) -> str:
    """A whole nginx.conf around the shipped site file, with its marked lines adapted."""
    site = NGINX_SITE.read_text()
    for pattern, replacement in (
        (r"server 127\.0\.0\.1:8001;", f"server 127.0.0.1:{app_port};"),
        (r"listen 80 default_server;", f"listen 127.0.0.1:{listen} default_server;"),
        (r"access_log /var/log/nginx/onefold\.access\.log", f"access_log {workdir}/access.log"),
        (r"error_log /var/log/nginx/onefold\.error\.log", f"error_log {workdir}/error.log"),
    ):
        site, count = re.subn(pattern, replacement, site)
        if count != 1:
            raise RuntimeError(f"{NGINX_SITE} no longer has the line {pattern!r}")
    # As root, nginx's workers would run as nobody, who cannot use this private folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {workdir}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"{user}\nworker_processes auto;\nworker_rlimit_nofile 65536;\n"
        f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log warn;\n"
        f"events {{ worker_connections 8192; }}\n"
        f"http {{\n{temp}\n{site}\n}}\n"
    )


@dataclass
class Stack:
    app_port: int
    proxy_port: int | None
    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def port(self) -> int:
        """Where clients connect: nginx when it runs, else granian."""
        return self.proxy_port or self.app_port

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def server_environment(**overrides: str) -> dict[str, str]:
    """The production settings (debug off, a secret, the hosts), plus `overrides`."""
    return {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "stack-" + uuid.uuid4().hex,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def start_stack(
    *, env: dict[str, str], proxy: bool = True, workers: int = 2, threads: int = 4
) -> Stack:
    """granian (and nginx in front when `proxy`) on free ports; waits until both answer."""
    stack = Stack(app_port=free_port(), proxy_port=free_port() if proxy else None,
                  workdir=Path(tempfile.mkdtemp(prefix="onefold-stack-")))
    try:
        stack.processes.append(subprocess.Popen(
            granian_command(port=stack.app_port, workers=workers, threads=threads), cwd=ROOT,
            env={**env, "ONEFOLD_TRUSTED_PROXIES": "1" if proxy else "0"},
        ))
        _wait_for(stack.app_port, stack.processes[-1], "granian")
        if proxy:
            conf = stack.workdir / "nginx.conf"
            conf.write_text(nginx_conf(workdir=stack.workdir, listen=stack.proxy_port,
                                       app_port=stack.app_port))
            stack.processes.append(subprocess.Popen(
                [NGINX, "-c", str(conf), "-p", str(stack.workdir), "-g", "daemon off;"],
                stderr=subprocess.PIPE,
            ))
            _wait_for(stack.proxy_port, stack.processes[-1], "nginx")
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_for(port: int, process: subprocess.Popen, name: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"{name} exited with {process.returncode}: {detail}")
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/onefold.js")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer on port {port} within {seconds:.0f} s")
