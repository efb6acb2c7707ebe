"""API authentication by personal token: `Authorization: Bearer <token>` acts as the token's owner.

A request with a bearer header is decided by the token alone (a wrong token is a 401, never a fall-back
to the session); without one, the session decides as before. Tokens are not ambient like cookies, so
they need no CSRF token.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import ApiToken
from accounts.services import api_token_digest, api_token_touch

NEW_TOKEN = "Make a new one on the API tokens page."  # noqa: S105 (advice, not a secret)


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Bearer <token>`, with no spaces in it.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(f"This API token is not valid. {NEW_TOKEN}") from None
        row = ApiToken.objects.select_related("user").filter(digest=api_token_digest(token)).first()
        if row is None:
            raise AuthenticationFailed(f"This API token is not valid. {NEW_TOKEN}")
        if row.revoked_at is not None:
            raise AuthenticationFailed(f"This API token ({row.prefix}…) was revoked. {NEW_TOKEN}")
        if not row.user.is_active:
            raise AuthenticationFailed("The owner of this API token is deactivated. Ask a user who can manage people.")
        api_token_touch(row)
        return row.user, row

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (page “API tokens”)."}
