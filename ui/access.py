"""Who may reach the app: the password login, throttled per client, and the TLS files.

Gradio calls the `auth` callable with only the user name and password, so a small ASGI
middleware remembers the requesting client in a context variable for the duration of the
request; `PasswordLogin` reads it there.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import os
import secrets
import ssl
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable

from fastapi import HTTPException
from starlette.middleware import Middleware

from rag.errors import SettingsError, report

log = logging.getLogger(__name__)

FREE_FAILURES = 5  # failures before the delays start: room for typos
MAX_DELAY = 15 * 60.0
# Failures are forgotten after this long without one: longer than MAX_DELAY, or waiting out
# the longest delay would also restore the free tries.
FORGET_AFTER = 60 * 60.0
MAX_CLIENTS = 10_000  # bounds the memory an attacker with many addresses can make us spend
CERTFILE_ENV, KEYFILE_ENV = "RAG_SSL_CERTFILE", "RAG_SSL_KEYFILE"
LOGIN_NOTICE = (f"After {FREE_FAILURES} failed logins from one address, logins from it are refused for a "
                f"while (1 s, doubling with each further failure, at most {MAX_DELAY / 60:.0f} min).")

_client: ContextVar[str] = ContextVar("login_client", default="unknown")


# --- throttling ----------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    """Failed logins per client: after `free_failures` of them each further attempt waits
    `base_delay` * 2^(failures - free_failures) s, at most `max_delay`; a success starts afresh."""

    def __init__(self, free_failures: int = FREE_FAILURES, base_delay: float = 1.0, max_delay: float = MAX_DELAY,
                 forget_after: float = FORGET_AFTER, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic):
        self.free_failures, self.base_delay, self.max_delay = free_failures, base_delay, max_delay
        self.forget_after, self.max_clients, self.clock = forget_after, max_clients, clock
        # No lock: Gradio calls a synchronous `auth` on its event loop, one login at a time.
        self._failures: dict[str, _Failures] = {}

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again (0: now)."""
        failures = self._failures.get(client)
        return max(0.0, failures.blocked_until - self.clock()) if failures else 0.0

    def failed(self, client: str) -> int:
        """Count a failure of `client`; returns its failures in a row."""
        now = self.clock()
        failures = self._failures.pop(client, None)
        if failures is None or now - failures.last > self.forget_after:
            failures = _Failures()
        failures.count += 1
        failures.last = now
        if failures.count >= self.free_failures:
            failures.blocked_until = now + self.delay(failures.count)
        self._failures[client] = failures  # re-inserted: the dict runs from least to most recent
        self._forget_oldest()
        return failures.count

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def delay(self, failures: int) -> float:
        """The wait after `failures` failures in a row."""
        exponent = min(failures - self.free_failures, 64)  # 2.0**large overflows
        return min(self.base_delay * 2.0 ** exponent, self.max_delay)

    def _forget_oldest(self) -> None:
        while len(self._failures) > self.max_clients:
            del self._failures[next(iter(self._failures))]


def client_key(host: str) -> str:
    """The throttled unit: an IPv4 address, or an IPv6 /64 (one host usually owns the whole /64)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:  # an IPv4 client of a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


# --- the login -----------------------------------------------------------------------------


class PasswordLogin:
    """Gradio's `auth` callable for the users {name: password}: constant-time comparison,
    throttled per client, failures logged with the user name and client (never the password)."""

    def __init__(self, users: dict[str, str], throttle: LoginThrottle | None = None):
        self._users = {user.encode(): password.encode() for user, password in users.items()}
        self.throttle = throttle or LoginThrottle()

    def __call__(self, user: str, password: str) -> bool:
        client = _client.get()
        self._refuse_while_waiting(client)
        if self._matches(user, password):
            self.throttle.succeeded(client)
            return True
        count = self.throttle.failed(client)
        wait = self.throttle.wait(client)
        # %r escapes line breaks, so a crafted user name cannot forge log lines.
        log.warning("failed login for user %r from %s (%d in a row%s)", user[:100], client, count,
                    f"; refusing logins from it for {math.ceil(wait)} s" if wait else "")
        return False

    def _refuse_while_waiting(self, client: str) -> None:
        """HTTP 429 while `client` must wait. The attempt is not checked, so guessing on is useless,
        and not logged, so hammering cannot flood the log."""
        wait = self.throttle.wait(client)
        if wait:
            seconds = math.ceil(wait)
            raise HTTPException(status_code=429, headers={"Retry-After": str(seconds)},
                                detail=f"Too many failed logins from your address; try again in {seconds} s.")

    def _matches(self, user: str, password: str) -> bool:
        # A password is compared even for an unknown user name (against a random one), as bytes:
        # compare_digest refuses non-ASCII str.
        expected = self._users.get(user.encode())
        password_ok = hmac.compare_digest(password.encode(), expected or secrets.token_bytes(16))
        return password_ok and expected is not None


class _ClientAddress:
    """ASGI middleware: the requesting client (after uvicorn applied a trusted proxy's
    X-Forwarded-For), for `PasswordLogin`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = _client.set(client_key(scope["client"][0]) if scope.get("client") else "unknown")
        try:
            await self.app(scope, receive, send)
        finally:
            _client.reset(token)


# --- launching -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TLS:
    certfile: str
    keyfile: str


def tls_files(certfile: str | None = None, keyfile: str | None = None) -> TLS | None:
    """The TLS certificate and key (arguments, else RAG_SSL_CERTFILE/RAG_SSL_KEYFILE), checked
    now so a bad file is an error naming it rather than a failure inside the server."""
    certfile = certfile or os.environ.get(CERTFILE_ENV) or None
    keyfile = keyfile or os.environ.get(KEYFILE_ENV) or None
    if not certfile and not keyfile:
        return None
    if not certfile or not keyfile:
        raise SettingsError("HTTPS needs both a certificate and its key: --ssl-certfile and --ssl-keyfile "
                            f"(or {CERTFILE_ENV} and {KEYFILE_ENV})")
    _readable("TLS certificate", certfile)
    _readable("TLS key", keyfile)
    try:
        # An empty password: an encrypted key fails here instead of prompting on the terminal.
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile, password=b"")
    except ssl.SSLError as error:
        raise SettingsError(f"TLS certificate {certfile} and key {keyfile} do not load as a PEM certificate "
                            f"and its unencrypted private key ({error.reason or error})") from error
    return TLS(certfile, keyfile)


def _readable(what: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise SettingsError(f"{what} {path}: cannot be read ({error.strerror or error})") from error


def warn_if_in_clear(local: bool, tls: TLS | None) -> None:
    """Say at startup when the password will cross the network unencrypted."""
    if not local and tls is None:
        report("warning", "serving plain HTTP beyond this machine: the password and the session cookie cross "
                          "the network in clear. Use --ssl-certfile/--ssl-keyfile, or a TLS reverse proxy.")


def launch_options(auth: dict[str, str] | None, tls: TLS | None) -> dict:
    """The keyword arguments of Gradio's launch() for the login and TLS."""
    options: dict = {"auth": None}
    if auth is not None:
        options.update(auth=PasswordLogin(auth), auth_message=LOGIN_NOTICE,
                       app_kwargs={"middleware": [Middleware(_ClientAddress)]})
    if tls is not None:
        # ssl_verify=False only for Gradio's own startup request to itself on localhost, which
        # a certificate for the public host name (or a self-signed one) would fail.
        options.update(ssl_certfile=tls.certfile, ssl_keyfile=tls.keyfile, ssl_verify=False)
    return options
