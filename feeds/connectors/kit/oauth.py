"""OAuth2 client credentials (Help Scout, Genesys Cloud): a bearer token asked for with the client
id and secret, kept until shortly before it expires, and asked for again once after a 401."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from feeds.connectors.kit.api import ApiError


class ClientCredentials:
    """``style`` "form" sends the id and secret in the form body (Help Scout); "basic" in an
    Authorization header (Genesys)."""

    def __init__(self, token_url: str, client_id: str, secret: str, *, vendor: str, secret_hint: str,
                 style: str = "form", clock: Callable[[], float] = time.time) -> None:
        self.token_url = token_url
        self.client_id, self._secret = client_id, secret
        self.vendor, self.secret_hint, self.style = vendor, secret_hint, style
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0  # tokens asked for so far

    def headers(self, client: httpx.Client) -> dict[str, str]:
        if self._token is None or self.clock() >= self._expires:
            self._fetch(client)
        return {"Authorization": f"Bearer {self._token}"}

    def refresh(self) -> bool:
        self._token = None
        return True

    def _fetch(self, client: httpx.Client) -> None:
        form = {"grant_type": "client_credentials"}
        auth: httpx.Auth | None = None
        if self.style == "basic":
            auth = httpx.BasicAuth(self.client_id, self._secret)
        else:
            form |= {"client_id": self.client_id, "client_secret": self._secret}
        self.fetched += 1
        try:
            response = client.post(self.token_url, data=form, auth=auth)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.vendor}'s sign-in ({type(exc).__name__})", "network") from None
        if response.status_code in (400, 401, 403):
            raise ApiError(f"{self.vendor} refused the client credentials (HTTP {response.status_code}): check "
                           f"feed.auth.client_id and {self.secret_hint}", "credentials", response.status_code)
        if response.status_code != 200:
            raise ApiError(f"{self.vendor}'s sign-in answered HTTP {response.status_code}", "http",
                           response.status_code)
        try:
            doc = response.json()
            token = str(doc["access_token"])
            lifetime = float(doc.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise ApiError(f"{self.vendor}'s sign-in sent no access token", "json") from None
        from feeds.logs import register_secret

        register_secret(token)
        self._token = token
        self._expires = self.clock() + max(30.0, lifetime - 60.0)  # a minute early: no 401 mid-poll
