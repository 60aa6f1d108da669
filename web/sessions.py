"""Desk sessions: opened once from Mini App login data or a one-time login link, held by
the browser as a random token in an HttpOnly cookie, stored in the database as its SHA-256
(so they survive a restart), checked on every request, and a CSRF token that every POST
must carry."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import WebSettings
from storage.web import StoredSession

COOKIE = "jd_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    """A request's session: its stored row and the hash that names it."""

    token_hash: str
    stored: StoredSession


def cookie_token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and len(token) <= 128 else None


def is_https(request: web.Request) -> bool:
    """Whether the browser talks HTTPS to us (directly, or to the reverse proxy)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def set_cookie(
    response: web.StreamResponse, request: web.Request, token: str, settings: WebSettings
) -> None:
    """The session cookie: HttpOnly; over HTTPS Secure and SameSite=None (Telegram's web
    client shows Mini Apps in a frame of its own site), else SameSite=Lax."""
    secure = is_https(request)
    response.set_cookie(
        COOKIE,
        token,
        path=settings.path_prefix or "/",
        max_age=settings.session_max_age,
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )


def clear_cookie(response: web.StreamResponse, settings: WebSettings) -> None:
    response.del_cookie(COOKIE, path=settings.path_prefix or "/")


def same_origin(request: web.Request, settings: WebSettings) -> bool:
    """A POST's Origin, when the browser sends one, must be the desk's own: the host the
    request was sent to, or the configured public address. ``null`` (sandboxed or
    privacy-restricted senders) is refused."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc
    if not host:
        return False
    public = urlsplit(settings.public_url).netloc if settings.public_url else None
    return host == request.host or host == public


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.stored.csrf.encode(), str(given).encode())
