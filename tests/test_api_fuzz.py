"""Fuzz the whole REST API from its own OpenAPI schema (schemathesis), as an admin's API token.

Bounded and repeatable: a fixed number of derandomized examples per operation, no shrinking, every
operation run even after another failed, so one run lists everything to fix. A 5xx, an undocumented status
code or content type, or a body that does not match the schema is a failure: bad input must be a clear 4xx
that the schema describes.
"""

import ipaddress
import socket

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_token_create
from config.wsgi import application
from tests.factories import UserFactory

EXAMPLES_PER_OPERATION = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _loopback(host) -> bool:
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def no_network(monkeypatch):
    """Fuzzed connection URLs must never reach out: names are not resolved and only loopback is connectable."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host) and not _is_literal(host):
            raise socket.gaierror(socket.EAI_NONAME, "not resolved during the fuzz test")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock, address):
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise ConnectionRefusedError("only loopback during the fuzz test")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


def _is_literal(host) -> bool:
    try:
        ipaddress.ip_address(str(host).strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture
def wsgi_in_test_transaction():
    """The WSGI app answers inside the test's transaction, as Django's test client does: a finished request
    must not close the connection that holds it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_api_answers_every_generated_request_as_its_schema_says(wsgi_in_test_transaction, no_network):
    _, token = api_token_create(user=UserFactory(role="Admin"), name="fuzz")
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_in_test_transaction, headers=auth)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=CHECKS, headers=auth)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; the failures are listed together
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
