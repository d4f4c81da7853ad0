"""README command 1 (scripts/up.sh): it says when its port is busy before printing anything
else, writes its broker folders under the data directory, and its shell starts quietly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_busy_port_is_reported_before_the_banner_and_nothing_is_set_up():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "up.sh")],
            env={**os.environ, "ONEFOLD_PORT": str(port)},
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    assert "ONEFOLD_PORT=" in result.stderr  # says how to choose another
    assert "Admin:" not in result.stdout
    assert "Installing" not in result.stdout  # refused before any setup step


def test_every_broker_folder_is_under_the_data_directory(tmp_path):
    # The embedded broker is what command 1 uses: settings read without CELERY_BROKER_URL.
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    env["ONEFOLD_DATA_DIR"] = str(tmp_path / "var")
    script = ("import json; from crm import settings as s; "
              "print(json.dumps([str(s.DATA_DIR), s.CELERY_BROKER_TRANSPORT_OPTIONS]))")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    data_dir, options = json.loads(result.stdout)
    folders = {key: value for key, value in options.items() if "folder" in key}
    assert {"control_folder", "data_folder_in", "data_folder_out"} <= folders.keys()
    outside = {key: value for key, value in folders.items()
               if not Path(value).resolve().is_relative_to(Path(data_dir).resolve())}
    assert outside == {}


def test_the_shell_starts_without_import_warnings(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'shell.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "print(merge_people.__name__)"],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("merge_people")
    assert "could not be automatically imported" not in result.stdout + result.stderr
