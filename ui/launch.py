"""Serve the app: 127.0.0.1 by default, optional password, never a public share link unless asked for."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgagent.kg.errors import InputError, KgAgentError

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)


def parse_auth(spec: str | Path | None) -> list[tuple[str, str]] | None:
    """``"user:pass"``, or a file with one ``user:pass`` per line (blank lines and ``#`` comments skipped).

    >>> parse_auth("ada:secret")
    [('ada', 'secret')]
    """
    if spec is None or str(spec) == "":
        return None
    path = Path(spec)
    if path.is_file():
        pairs = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, password = line.partition(":")
            if not sep or not user or not password:
                raise InputError("expected user:password", path=path, line=n)
            pairs.append((user, password))
        if not pairs:
            raise InputError("no user:password line", path=path)
        return pairs
    user, sep, password = str(spec).partition(":")
    if not sep or not user or not password:
        raise InputError("expected user:password or a file of such lines", field="--auth")
    return [(user, password)]


def launch(app: gr.Blocks | str | Path, *, host: str = "127.0.0.1", port: int | None = 7860,
           auth: str | Path | list[tuple[str, str]] | None = None, share: bool = False, open_browser: bool = False,
           block: bool = True, quiet: bool = False, **launch_kwargs: Any) -> gr.Blocks:
    """Serve ``app`` (a Blocks from :func:`ui.create_app`, or a workspace folder to build one for).

    ``port=None``: the first free port from 7860. ``auth``: ``"user:pass"``, a file of such lines, or pairs.
    ``block=False`` returns once the server is up (``app.local_url``; stop it with ``app.close()``).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from kgagent.ui.app import CSS, create_app, theme

    if isinstance(app, str | Path):
        app = create_app(None, app)
    pairs = auth if isinstance(auth, list) else parse_auth(auth)
    try:
        app.launch(server_name=host, server_port=port, auth=pairs, share=share, inbrowser=open_browser,
                   prevent_thread_lock=not block, quiet=quiet, css=CSS, theme=theme(), show_error=True,
                   auth_message="Sign in to kgagent" if pairs else None, **launch_kwargs)
    except OSError as e:  # the port is taken: a user-fixable problem, not a crash
        raise KgAgentError(f"cannot serve on {host}:{port} ({e}); pass another --port") from e
    return app
