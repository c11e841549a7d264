"""The low findings that need a real server or the real command: throttled guessing, trusted proxies,
the bootstrap key's length, the demo key's warning, key names in the terminal, chosen webhook secrets."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from allot.services import keys
from allot.startup import DEMO_KEY
from allot.store.db import Database
from tests.conftest import ADMIN_KEY, Server, free_port, sqlite_db
from tests.e2e.trust import allot, ok, unique

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_guessing_api_keys_is_throttled_per_address_logged_and_the_secret_never_logged(tmp_path: Path) -> None:
    srv = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path,
                 env={"ALLOT_THROTTLE_LOOPBACK": "on", "ALLOT_AUTH_FAILURES_PER_MINUTE": "5"})
    try:
        with srv.client() as admin:
            ok(admin.get("/v1/ping"), 200)  # the admin's key is known and cached from here on
            fresh = ok(admin.post("/v1/keys", json={"name": unique("v"), "role": "viewer"}), 201)["secret"]
            for i in range(5):
                with srv.client(f"guess-number-{i}") as guesser:
                    assert guesser.get("/v1/ping").status_code == 401
            with srv.client("guess-number-6") as guesser:
                refused = guesser.get("/v1/ping")
            assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
            assert int(refused.headers["retry-after"]) > 0
            with srv.client(fresh) as viewer:  # a key not seen yet waits like any other from that address
                assert viewer.get("/v1/ping").status_code == 429
            ok(admin.get("/v1/ping"), 200)
    finally:
        srv.stop()
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert "refused an unknown or revoked API key" in log and "127.0.0.1" in log
    assert "throttling 127.0.0.1" in log and "guess-number" not in log


def _sign_in(base: str, proto: str | None) -> str:
    with httpx.Client(base_url=base) as client:
        token = CSRF.search(client.get("/signin").text)
        assert token is not None
        headers = {"X-Forwarded-Proto": proto} if proto else {}
        answer = client.post("/signin", data={"csrf": token.group(1), "api_key": ADMIN_KEY}, headers=headers)
        assert answer.status_code == 303, answer.text
        return answer.headers["set-cookie"]


def test_the_session_cookie_is_secure_behind_a_trusted_proxy_and_a_spoofed_header_changes_nothing(
        tmp_path: Path) -> None:
    untrusted = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    try:
        assert "secure" not in _sign_in(untrusted.base, "https").lower()
    finally:
        untrusted.stop()
    trusted = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, env={"ALLOT_FORWARDED_ALLOW_IPS": "127.0.0.1"})
    try:
        assert "secure" in _sign_in(trusted.base, "https").lower()
        assert "secure" not in _sign_in(trusted.base, None).lower()
    finally:
        trusted.stop()


def _serve(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "allot"
    full = {**os.environ, "ALLOT_DATABASE_URL": f"sqlite:///{tmp / 'b.db'}", **env}
    try:
        return subprocess.run([str(exe), "serve", "--port", str(free_port())], env=full, cwd=tmp,
                              capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("the server started with a short bootstrap key") from e


def test_a_short_bootstrap_admin_key_is_refused_at_start_up(tmp_path: Path) -> None:
    done = _serve(tmp_path, ALLOT_BOOTSTRAP_ADMIN_KEY="hunter2")
    assert done.returncode != 0 and "at least 24" in done.stderr


def test_the_demo_key_outside_a_demo_is_warned_about_loudly(tmp_path: Path) -> None:
    outside = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, env={"ALLOT_BOOTSTRAP_ADMIN_KEY": DEMO_KEY})
    outside.stop()
    demo = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path,
                  env={"ALLOT_BOOTSTRAP_ADMIN_KEY": DEMO_KEY, "ALLOT_DEMO": "1"})
    demo.stop()
    assert "WARNING: the demo admin key" in (tmp_path / f"server-{outside.port}.log").read_text()
    assert "WARNING" not in (tmp_path / f"server-{demo.port}.log").read_text()


def test_allot_keys_list_shows_a_keys_name_as_written(tmp_path: Path, now: object) -> None:
    db: Database = sqlite_db(tmp_path / "k.db")
    name = "[red]boss[/red] \x1b[2J\x1b[31mX"
    with db.write() as conn:
        keys.create(conn, name, "viewer", None, now)  # type: ignore[arg-type]
    db.dispose()
    done = allot(f"sqlite:///{tmp_path / 'k.db'}", "keys", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "[red]boss[/red]" in done.stdout and "\x1b" not in done.stdout and "\\x1b[2J" in done.stdout


def test_a_webhook_secret_the_admin_chose_is_not_shown_even_in_part(tmp_path: Path) -> None:
    srv = Server(f"sqlite:///{tmp_path / 'a.db'}", tmp_path)
    try:
        with srv.client() as admin:
            chosen = ok(admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                         "secret": "my-favourite-password-1"}), 201)
            made = ok(admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}), 201)
            listed = {w["id"]: w["secret_prefix"] for w in ok(admin.get("/v1/webhooks"), 200)["webhooks"]}
    finally:
        srv.stop()
    assert listed[chosen["id"]] == "(supplied)" and "my-fav" not in str(listed)
    assert listed[made["id"]] == made["secret"][:10]
