"""Field validators shared by the connection forms and the REST API, so both refuse the same input."""

from django.core.exceptions import ValidationError


def validate_token(value: str) -> None:
    """Tokens travel in an HTTP header, which carries only visible ASCII: anything else cannot be a real token
    (and the HTTP libraries would fail on it mid-request)."""
    if value and not (value.isascii() and value.isprintable()):
        raise ValidationError(
            "A token contains only ASCII letters, digits and symbols. Copy it again from where it was issued; "
            "a character outside ASCII usually comes from pasting it through a document or chat."
        )


def validate_login_email(value: str) -> None:
    """Jira Cloud's email travels in Basic authentication, which carries ASCII only."""
    if value and not value.isascii():
        raise ValidationError(
            "Enter the email in ASCII, as the Atlassian account shows it; an internationalised domain in its "
            "xn-- form (for example app@xn--exmple-cua.com)."
        )
