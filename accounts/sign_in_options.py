"""Ways to sign in besides a password, offered on the sign-in page by the apps that provide them.

accounts sits below the apps that know the identity providers (connector knows Jira sites), so they register
a function here (in their AppConfig.ready) that lists the buttons to show.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class SignInOption:
    label: str
    url: str


_providers: list[Callable[[HttpRequest], list[SignInOption]]] = []


def register(provider: Callable[[HttpRequest], list[SignInOption]]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def sign_in_options(request: HttpRequest) -> list[SignInOption]:
    return [option for provider in _providers for option in provider(request)]
