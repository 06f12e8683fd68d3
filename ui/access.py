"""Who may use the server: API keys (``Authorization: Bearer KEY``) and the rule about where it may bind.

Keys come from a file (one per line, blank lines and ``#`` comments skipped) or from ``$KGAGENT_API_KEYS``
(separated by commas or whitespace), never from the command line, where other local users can read them. They are
compared in constant time. Without keys the server binds only loopback addresses, unless told it may run open.

>>> keys = APIKeys(["k-123"])
>>> keys.check("k-123"), keys.check("k-124"), keys.check(None)
(True, False, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kgagent.kg.errors import ConfigError, InputError

KEYS_ENV = "KGAGENT_API_KEYS"
MIN_KEY_LENGTH = 8  # a shorter key is a typo or a placeholder, not a secret


class APIKeys:
    """A set of accepted keys; empty means the server is open (loopback only, unless insecure)."""

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys = tuple(k.encode("utf-8") for k in dict.fromkeys(keys))

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def check(self, key: str | None) -> bool:
        """Whether ``key`` is one of the keys; every key is compared, so the time taken does not tell which."""
        if not key or not self._keys:
            return False
        given = key.encode("utf-8")
        found = False
        for k in self._keys:
            found |= hmac.compare_digest(given, k)
        return found

    def check_header(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a valid ``Bearer`` key."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.check(token.strip())

    def check_login(self, username: str, password: str) -> bool:
        """The Gradio login: any user name, an API key as the password."""
        return self.check(password)

    @classmethod
    def from_file(cls, path: str | Path) -> APIKeys:
        path = Path(path)
        if not path.is_file():
            raise InputError("no such key file", path=path)
        keys = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            _check_key(line, path=path, line=n)
            keys.append(line)
        if not keys:
            raise InputError("no key in the file (one key per line)", path=path)
        return cls(keys)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> APIKeys:
        value = (os.environ if environ is None else environ).get(KEYS_ENV, "")
        keys = [k for k in re.split(r"[\s,]+", value) if k]
        for i, k in enumerate(keys, start=1):
            _check_key(k, field=f"${KEYS_ENV} (key {i})")
        return cls(keys)

    @classmethod
    def load(cls, path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> APIKeys:
        """The keys of ``path`` when given, else of ``$KGAGENT_API_KEYS`` (empty when unset)."""
        return cls.from_file(path) if path is not None else cls.from_env(environ)


def _check_key(key: str, **where: Any) -> None:
    if len(key) < MIN_KEY_LENGTH:
        raise InputError(f"an API key must have at least {MIN_KEY_LENGTH} characters", **where)


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to a public address
        return False


def check_bind(host: str, keys: APIKeys, *, insecure: bool = False) -> None:
    """Refuse to serve beyond this machine without keys (unless ``insecure``)."""
    if not keys and not insecure and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host} without API keys: give --keys FILE or ${KEYS_ENV}, "
                          "bind 127.0.0.1, or pass --insecure to serve it open")
