"""Vendor clients for the connection pages and checks, as each connection's app user."""

from django.conf import settings

from connector.intercom_client import IntercomClient, api_base_url
from connector.jira_client import JiraClient
from connector.models import IntercomWorkspace, JiraSite


def jira_client(site: JiraSite) -> JiraClient:
    return JiraClient.for_site(site)


def intercom_client(workspace: IntercomWorkspace) -> IntercomClient:
    """A short-lived client for admin pages and checks (delivery code uses the pooled `client_for`)."""
    base = api_base_url(workspace.region, workspace.api_base_url)
    return IntercomClient(token=workspace.access_token, base_url=base, timeout=settings.VENDOR_TIMEOUT_SECONDS)
