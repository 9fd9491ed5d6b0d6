"""Django's database session engine, keeping sessions in security.SignInSession: by the hash
of their key, with their user, address, browser and times. The session list of the profile
is this table, so every session is on it however it was signed in, and listing costs no
query per request."""

from __future__ import annotations

import logging

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from keyledger.security.models import SignInSession, hash_session_key


class SessionStore(DatabaseSessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The row as loaded at the start of the request (the middleware reads its times).
        self.row: SignInSession | None = None
        # (IP address, User-Agent) of the request, set by the middleware; written with the row.
        self.client: tuple[str | None, str] | None = None

    @classmethod
    def get_model_class(cls) -> type[SignInSession]:
        return SignInSession

    def _get_session_from_db(self) -> SignInSession | None:
        try:
            self.row = self.model.objects.get(
                session_key=hash_session_key(self.session_key), expire_date__gt=timezone.now()
            )
            return self.row
        except (self.model.DoesNotExist, SuspiciousOperation) as exc:
            if isinstance(exc, SuspiciousOperation):
                logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(str(exc))
            self._session_key = None
            return None

    # Keyledger serves its pages over WSGI; the async doors would bypass the key hashing.
    async def _aget_session_from_db(self) -> SignInSession | None:
        raise NotImplementedError

    async def aexists(self, session_key: str) -> bool:
        raise NotImplementedError

    async def acreate_model_instance(self, data: dict) -> SignInSession:
        raise NotImplementedError

    async def adelete(self, session_key: str | None = None) -> None:
        raise NotImplementedError

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=hash_session_key(session_key)).exists()

    def create_model_instance(self, data: dict) -> SignInSession:
        now = timezone.now()
        key_hash = hash_session_key(self._get_or_create_session_key())
        user_id = data.get(SESSION_KEY)
        previous = self.row
        ip, agent = self.client or (
            (previous.ip_address, previous.user_agent) if previous is not None else (None, "")
        )
        self.row = self.model(
            session_key=key_hash,
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
            user_id=int(user_id) if user_id is not None else None,
            ip_address=ip,
            user_agent=(agent or "")[:400],
            created_at=previous.created_at
            if previous is not None and previous.session_key == key_hash
            else now,
            last_seen_at=now,
        )
        return self.row

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=hash_session_key(session_key)).delete()
