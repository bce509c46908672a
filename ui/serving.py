"""Serving the app: host, port, login and TLS checked before the server starts, then launched.

Binding beyond loopback needs a password (RAG_AUTH); the login's throttling and TLS live in
`ui.access`.
"""
from __future__ import annotations

import ipaddress
import os
import signal
import socket
import threading
from dataclasses import replace

import gradio as gr

from rag.answer import Answerer
from rag.answer.backends.registry import backend_names
from rag.embedding import make_embedder
from rag.errors import SettingsError
from rag.settings import Settings
from ui.access import launch_options, tls_files, warn_if_in_clear
from ui.app import build_app
from ui.assets import CSS

DEFAULT_HOST = "127.0.0.1"
AUTH_ENV = "RAG_AUTH"


def serve(settings: Settings, host: str | None = None, port: int | None = None, backend: str | None = None,
          block: bool = True, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> gr.Blocks:
    """Build the index if needed, print the URL and serve the app.

    `host` defaults to RAG_HOST or 127.0.0.1; `port` to RAG_PORT or the first free port
    from 7860 (0: any free port). RAG_AUTH ("user:password", or "ana:pw1,bob:pw2" for several users)
    turns on the login (`ui.access`), required when binding to anything but a loopback address; HTTPS
    comes from `ssl_certfile`/`ssl_keyfile` or RAG_SSL_CERTFILE/RAG_SSL_KEYFILE. With `block=False` the
    server runs in a background thread and the app is returned (`app.local_url`, `app.close()`); with
    `block=True` SIGTERM stops it as Ctrl+C does.
    """
    host = host or os.environ.get("RAG_HOST") or DEFAULT_HOST
    port = _env_port() if port is None else port or _free_port(host)
    auth = auth_from_env()
    check_bind(host, auth)
    tls = tls_files(ssl_certfile, ssl_keyfile)
    warn_if_in_clear(is_loopback(host), tls)
    settings = replace(settings, backend=backend) if backend else settings
    if settings.backend not in backend_names():
        raise SettingsError(f"unknown backend {settings.backend!r}; registered: {', '.join(backend_names())}")
    embedder = make_embedder(settings)
    app = build_app(settings, Answerer.from_settings(settings, embedder=embedder))
    # share, MCP and monitoring off explicitly: GRADIO_* environment variables could otherwise
    # open a public tunnel or extra endpoints behind the loopback/auth check above.
    app.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
               show_error=True, share=False, mcp_server=False, enable_monitoring=False, ssr_mode=False,
               theme=gr.themes.Soft(), css=CSS, **launch_options(auth, tls))
    print(f"rag: the app is running on {app.local_url}", flush=True)
    if block:
        _stop_cleanly_on_sigterm()
        app.block_thread()
    return app


def _stop_cleanly_on_sigterm() -> None:
    """Let SIGTERM (how service managers and `kill` stop a server) end it as Ctrl+C does: Gradio
    closes the server and the exit handlers remove the app's download folders (`ui.scratch`).
    Python's default for SIGTERM ends the process at once, with no cleanup."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def auth_from_env() -> dict[str, str] | None:
    """{user: password} from RAG_AUTH="user:password" or "ana:pw1,bob:pw2" (a password may hold
    colons but no commas), None when unset; SettingsError when malformed."""
    raw = os.environ.get(AUTH_ENV, "")
    if not raw:
        return None
    users: dict[str, str] = {}
    for entry in raw.split(","):
        user, colon, password = entry.strip().partition(":")
        if not colon or not user or not password or user in users:
            raise SettingsError(f"{AUTH_ENV} must look like 'user:password' or 'ana:pw1,bob:pw2' (names and "
                                "passwords non-empty, each name once, no commas in passwords)")
        users[user] = password
    return users


def check_bind(host: str, auth: dict[str, str] | None) -> None:
    """Refuse to serve beyond this machine without a password (SettingsError says how to fix it)."""
    if auth is None and not is_loopback(host):
        raise SettingsError(
            f"refusing to serve on {host} without a password: anyone who can reach this machine could use "
            f"the app. Set {AUTH_ENV}=user:password, or bind to {DEFAULT_HOST}.")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # any other host name may resolve to a public interface
        return False


def _env_port() -> int | None:
    raw = os.environ.get("RAG_PORT", "")
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"RAG_PORT={raw!r} is not a port number (1-65535)")
    return int(raw)


def _free_port(host: str) -> int:
    """A port the OS reports free right now (for `port=0`: tests, several instances side by side)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host.strip("[]"), 0))
        return probe.getsockname()[1]
