"""Serve the app: 127.0.0.1 by default, optional password, never a public share link unless asked for."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgagent.kg.errors import InputError, KgAgentError

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)


AUTH_ENV = "KGAGENT_AUTH"  # user:password lines, for hosts where a file is awkward (containers)


def parse_auth(spec: str | Path | None) -> list[tuple[str, str]] | None:
    """The ``user:password`` lines of the file ``spec`` (blank lines and ``#`` comments skipped); None for none.

    A password is never taken from the command line itself: there every user of the machine can read it in the
    process list.
    """
    if spec is None or str(spec) == "":
        return None
    path = Path(spec)
    if not path.is_file():
        if ":" in str(spec):
            raise InputError(f"--auth takes a FILE of user:password lines, or set ${AUTH_ENV}; a password on the "
                             "command line is visible to every user in the process list", field="--auth")
        raise InputError("no such file of user:password lines", path=path, field="--auth")
    return parse_auth_lines(path.read_text(encoding="utf-8"), where=path)


def parse_auth_lines(text: str, *, where: str | Path = f"${AUTH_ENV}") -> list[tuple[str, str]]:
    """``user:password`` pairs, one per line (blank lines and ``#`` comments skipped).

    >>> parse_auth_lines("ada:secret\n# ops\nbob:pw:with:colons")
    [('ada', 'secret'), ('bob', 'pw:with:colons')]
    """
    pairs = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise InputError("expected user:password", path=where, line=n)
        pairs.append((user, password))
    if not pairs:
        raise InputError("no user:password line", path=where)
    return pairs


def resolve_auth(spec: str | Path | None, environ: Mapping[str, str]) -> list[tuple[str, str]] | None:
    """Log-ins from ``--auth FILE``, else from ``$KGAGENT_AUTH`` in ``environ``, else None."""
    if spec:
        return parse_auth(spec)
    text = environ.get(AUTH_ENV, "")
    return parse_auth_lines(text) if text.strip() else None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, auth: list[tuple[str, str]] | None, insecure: bool) -> None:
    """Refuse to serve a non-loopback address without log-ins unless told ``insecure``."""
    if not auth and not insecure and not is_loopback(host):
        raise KgAgentError(f"--host {host} serves everyone who can reach this machine, and no log-in is set: "
                           f"pass --auth FILE (user:password lines) or set ${AUTH_ENV}; or add --insecure to serve "
                           "without one")


def launch(app: gr.Blocks | str | Path, *, host: str = "127.0.0.1", port: int | None = 7860,
           auth: str | Path | list[tuple[str, str]] | None = None, share: bool = False, open_browser: bool = False,
           block: bool = True, quiet: bool = False, insecure: bool = False, **launch_kwargs: Any) -> gr.Blocks:
    """Serve ``app`` (a Blocks from :func:`ui.create_app`, or a workspace folder to build one for).

    ``port=None``: the first free port from 7860. ``auth``: a file of ``user:pass`` lines, or pairs. A host other
    than loopback needs ``auth`` unless ``insecure``. ``block=False`` returns once the server is up
    (``app.local_url``; stop it with ``app.close()``).
    """
    pairs = auth if isinstance(auth, list) else parse_auth(auth)
    check_exposure("0.0.0.0" if share else host, pairs, insecure)  # a share link is public
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from kgagent.ui.app import CSS, create_app, theme

    if isinstance(app, str | Path):
        app = create_app(None, app)
    try:
        app.launch(server_name=host, server_port=port, auth=pairs, share=share, inbrowser=open_browser,
                   prevent_thread_lock=not block, quiet=quiet, css=CSS, theme=theme(), show_error=True,
                   auth_message="Sign in to kgagent" if pairs else None, **launch_kwargs)
    except OSError as e:  # the port is taken: a user-fixable problem, not a crash
        raise KgAgentError(f"cannot serve on {host}:{port} ({e}); pass another --port") from e
    return app
