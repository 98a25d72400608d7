"""`aitrader api` as an operator runs it: a real process on an ephemeral loopback port, a key made by
`aitrader keys create`, then SIGTERM, which must end it cleanly (exit 0, no traceback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_rig import free_port
from api_seed import ALPHA, make_db, seed

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "aitrader.cli.main"]


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "aitrader.yaml"
    cfg.write_text(
        f"tenant: {ALPHA}\nstorage:\n  url: sqlite:///{tmp_path / 'api.db'}\n"
        f"data:\n  datadir: {tmp_path / 'data'}\n{extra}",
        encoding="utf-8",
    )
    return cfg


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AITRADER_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_api_serves_with_a_cli_made_key_and_stops_on_sigterm(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    seed(make_db(tmp_path / "api.db"))
    port = free_port()
    # started together: each CLI process spends most of its start-up importing
    proc = subprocess.Popen(
        [*CLI, "api", "--config", str(cfg), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    made = subprocess.run(
        [*CLI, "keys", "create", "--tenant", ALPHA, "--scope", "read", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=90,
        env=_env(),
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded CI box imports slowly
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "aitrader api did not come up"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert httpx.get(f"{base}/api/v1/status").status_code == 401
        r = httpx.get(f"{base}/api/v1/status", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json()["tenant_id"] == ALPHA and r.json()["open_positions"] == 2
        # the API alone has no engine in its process: actions are refused, not queued into nothing
        r = httpx.post(f"{base}/api/v1/control/pause", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 403  # a read key may not act at all
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, (proc.returncode, err)
    assert "Traceback" not in err
    assert f"127.0.0.1:{port}" in out


def test_enabled_telegram_without_token_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aitrader.cli.main import run

    cfg = _config(tmp_path, "telegram:\n  enabled: true\n  allowed_chat_ids: [111]\n")
    make_db(tmp_path / "api.db")
    monkeypatch.delenv("AITRADER_TELEGRAM_TOKEN", raising=False)
    monkeypatch.setattr(sys, "argv", ["aitrader", "api", "--config", str(cfg), "--port", str(free_port())])
    with pytest.raises(SystemExit) as exited:
        run()  # the entry point itself: it turns the ConfigError into the one line
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "AITRADER_TELEGRAM_TOKEN" in lines[0], lines
