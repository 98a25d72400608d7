"""The configuration as the API shows it: secrets masked, wherever they hide.

Settings refuse secrets in the config file, but environment overrides and URLs can still carry them
(`postgresql://user:password@host/db`, `https://token@host`). The API masks any key that names a
secret and any password or user-info inside a URL, so `/api/v1/config` is safe to hand a read key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aitrader.config import Settings

MASK = "***"
_SECRET_KEY_RE = re.compile(r"(secret|password|passphrase|token|apikey|api_key|private_key|credential)")
_URL_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _redact_url(text: str) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        return MASK
    if "@" not in parts.netloc:
        return text
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{MASK}@{host}", parts.path, parts.query, parts.fragment))


def redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY_RE.search(key.lower()):
        return MASK if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(key, v) for v in value]
    if isinstance(value, str) and _URL_RE.match(value):
        return _redact_url(value)
    return value


def redacted_config(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    out = redact_value("", data)
    assert isinstance(out, dict)
    return out
