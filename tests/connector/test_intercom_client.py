"""The Intercom client: every request is checked against the SSRF guard, as the Jira client's are."""

import pytest

from connector.errors import VendorError
from connector.intercom_client import IntercomClient, client_for
from tests.conftest import workspace_for

pytestmark = pytest.mark.django_db


def test_it_calls_a_private_host_while_private_urls_are_allowed(intercom, settings):
    settings.ALLOW_PRIVATE_URLS = True
    assert client_for(workspace_for(intercom)).me()["app"]["id_code"] == intercom.app["id_code"]


@pytest.mark.parametrize("call", ["me", "conversation"])  # the SDK path and the plain-JSON hot path
def test_a_workspace_saved_on_a_private_address_stops_when_private_urls_are_turned_off(intercom, settings, call):
    workspace = workspace_for(intercom)
    client = client_for(workspace)
    settings.ALLOW_PRIVATE_URLS = False  # the setting changes only with a restart, before any connection
    before = intercom.stats()["statuses"]
    with pytest.raises(VendorError, match="private, loopback or link-local") as caught:
        getattr(client, call)(*(["1"] if call == "conversation" else []))
    assert caught.value.kind == "permanent"
    assert intercom.stats()["statuses"] == before  # nothing more reached the simulator


def test_plain_http_is_refused_for_a_public_host_even_when_private_urls_are_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True
    client = IntercomClient(token="t", base_url="http://93.184.216.34", timeout=2)
    try:
        with pytest.raises(VendorError, match="https://") as caught:
            client.conversation("1")
        assert caught.value.kind == "permanent"
    finally:
        client.shutdown()
