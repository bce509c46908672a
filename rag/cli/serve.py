"""`rag serve`: the web chat."""
from __future__ import annotations

import argparse

from rag.cli.common import add_location_options, settings_from


def register(commands) -> None:
    """Add `serve` to the CLI's subcommand table."""
    serve = commands.add_parser("serve", help="serve the web chat (builds the index from the corpus if needed)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; others need RAG_AUTH=user:password)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    add_location_options(serve)
    serve.add_argument("--backend", help="answer backend (default: the `backend` setting, extractive)")
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this PEM certificate (or RAG_SSL_CERTFILE)")
    serve.add_argument("--ssl-keyfile", help="the certificate's unencrypted PEM private key (or RAG_SSL_KEYFILE)")
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    # The CLI is the only package that reaches into the UI: serving needs both.
    from ui.serving import serve

    serve(settings_from(args), host=args.host, port=args.port, backend=args.backend,
          ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)
    return 0
