"""Login: failed logins are throttled per client and logged without the password, and the app
serves HTTPS from `--ssl-certfile/--ssl-keyfile` (files checked before it starts)."""
from __future__ import annotations

import logging
import subprocess
import sys

import httpx
import pytest
from conftest import REPO, SEEDS

from rag.settings import Settings, SettingsError
from ui.access import TLS, LoginThrottle, client_key, warn_if_in_clear
from ui.serving import serve

USER, PASSWORD = "ana", "s3cret"
WRONG = "hunter2-wrong"


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_the_delay_doubles_from_the_fifth_failure_up_to_fifteen_minutes():
    throttle = LoginThrottle()
    assert [throttle.delay(n) for n in (5, 6, 7, 14, 15, 40, 10**6)] == [1, 2, 4, 512, 900, 900, 900]


def test_failures_count_per_client_until_a_success_or_an_hour_of_quiet():
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(4):
        throttle.failed("a")
    assert throttle.wait("a") == 0  # four typos cost nothing
    throttle.failed("a")
    assert throttle.wait("a") == 1 and throttle.wait("b") == 0
    clock.advance(3601)
    assert throttle.failed("a") == 1  # an hour without a failure: forgotten
    throttle.succeeded("a")
    assert throttle.failed("a") == 1


def test_the_throttle_forgets_the_oldest_clients_beyond_its_bound():
    throttle = LoginThrottle(max_clients=3, clock=FakeClock())
    for client in ("a", "b", "c", "d"):
        for _ in range(5):
            throttle.failed(client)
    assert [throttle.wait(client) for client in ("a", "b", "c", "d")] == [0, 1, 1, 1]


def test_an_ipv6_client_is_its_64_network():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:198.51.100.7") == client_key("198.51.100.7") == "198.51.100.7"
    assert client_key("testclient") == "testclient"


def test_plain_http_beyond_loopback_is_warned_about(capsys):
    warn_if_in_clear(local=False, tls=None)
    assert "cross the network in clear" in capsys.readouterr().err
    warn_if_in_clear(local=True, tls=None)
    warn_if_in_clear(local=False, tls=TLS("cert.pem", "key.pem"))
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def seed_settings(seed_index):
    return Settings.load(corpus_dir=SEEDS, index_dir=seed_index.folder.parent)


@pytest.fixture(scope="module")
def login_app(seed_settings):
    """(base URL, clock of the login throttle) of the app served with RAG_AUTH on loopback."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_AUTH", f"{USER}:{PASSWORD}")
        app = serve(seed_settings, port=0, backend="extractive", block=False)
    clock = FakeClock()
    app.auth.throttle.clock = clock  # Gradio keeps the `auth` callable serve() gave it
    try:
        yield app.local_url.rstrip("/"), clock
    finally:
        app.close()


def login(url: str, password: str, client: str, user: str = USER) -> httpx.Response:
    """POST Gradio's login form as `client`: the app trusts X-Forwarded-For from loopback (a local proxy)."""
    return httpx.post(f"{url}/login/", data={"username": user, "password": password},
                      headers={"X-Forwarded-For": client}, timeout=30)


@pytest.mark.slow
def test_failed_logins_are_throttled_per_client(login_app):
    url, clock = login_app
    for _ in range(5):
        assert login(url, WRONG, "198.51.100.1").status_code == 400
    refused = login(url, PASSWORD, "198.51.100.1")  # the right password, but too soon
    assert refused.status_code == 429, refused.text
    assert "too many failed logins" in refused.json()["detail"].lower()
    assert "try again in 1 s" in refused.json()["detail"] and refused.headers["Retry-After"] == "1"
    assert login(url, PASSWORD, "198.51.100.2").status_code == 200  # another client is not held back
    clock.advance(1)
    accepted = login(url, PASSWORD, "198.51.100.1")
    assert accepted.status_code == 200 and accepted.json() == {"success": True}
    assert login(url, WRONG, "198.51.100.1").status_code == 400  # success started the count afresh


@pytest.mark.slow
def test_the_delay_doubles_with_each_further_failure(login_app):
    url, clock = login_app
    for _ in range(5):
        login(url, WRONG, "198.51.100.3")
    for delay in (1, 2, 4, 8):
        assert login(url, PASSWORD, "198.51.100.3").headers["Retry-After"] == str(delay)
        clock.advance(delay)
        assert login(url, WRONG, "198.51.100.3").status_code == 400  # one more try, failed
    assert "try again in 16 s" in login(url, PASSWORD, "198.51.100.3").json()["detail"]


@pytest.mark.slow
def test_failed_logins_are_logged_without_the_password(login_app, caplog):
    url, _ = login_app
    caplog.set_level(logging.DEBUG)
    login(url, WRONG, "198.51.100.4", user="bob")
    login(url, PASSWORD, "198.51.100.4")
    failures = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failures) == 1 and "'bob'" in failures[0] and "198.51.100.4" in failures[0], failures
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """(certificate, key) files of a self-signed certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.slow
def test_serves_https_with_the_given_certificate(seed_settings, certificate, monkeypatch):
    monkeypatch.delenv("RAG_AUTH", raising=False)
    cert, key = certificate
    app = serve(seed_settings, port=0, backend="extractive", block=False, ssl_certfile=cert, ssl_keyfile=key)
    try:
        assert app.local_url.startswith("https://")
        assert httpx.get(app.local_url, verify=False, timeout=30).status_code == 200
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered
            httpx.get(app.local_url.replace("https://", "http://"), timeout=30)
    finally:
        app.close()
    with pytest.raises(SettingsError, match="without a password"):  # TLS does not replace the password
        serve(seed_settings, host="0.0.0.0", port=0, block=False, ssl_certfile=cert, ssl_keyfile=key)


@pytest.mark.slow
def test_unusable_tls_files_are_errors_naming_them(seed_settings, certificate, tmp_path, monkeypatch):
    cert, key = certificate
    monkeypatch.setenv("RAG_SSL_CERTFILE", cert)
    monkeypatch.setenv("RAG_SSL_KEYFILE", str(tmp_path / "missing-key.pem"))
    with pytest.raises(SettingsError, match="missing-key.pem"):
        serve(seed_settings, port=0, block=False)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n", encoding="utf-8")
    monkeypatch.setenv("RAG_SSL_KEYFILE", str(garbage))
    with pytest.raises(SettingsError, match="garbage.pem"):
        serve(seed_settings, port=0, block=False)


@pytest.mark.slow
def test_rag_serve_with_a_missing_certificate_exits_naming_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RAG_CACHE_DIR": str(tmp_path / "cache")}
    missing = tmp_path / "no-such-cert.pem"
    result = subprocess.run([sys.executable, "-m", "rag", "serve", "--index", str(tmp_path), "--ssl-certfile",
                             str(missing), "--ssl-keyfile", str(missing)],
                            capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    assert result.returncode == 1, result.stderr
    assert f"error: TLS certificate {missing}" in result.stderr and "running on" not in result.stdout
