"""`make demo` (`python -m sandbox.demo`): the service against the Jira and Intercom simulators, to watch.

Starts both simulators in this process, connects them like an admin would (Jira site and app user, Intercom
workspace and note author, project SUP), links three conversations to a new issue, registers the signed Jira
webhook to this service, offers Sign in with Atlassian through the simulator's authorization server (make demo
points ATLASSIAN_AUTH_URL and ATLASSIAN_API_URL at it), and keeps the simulators running. Transition the issue
in the Jira simulator and the notes appear in the Intercom simulator's page and on the Deliveries page.

Restart-safe: a new run removes the previous demo's connections (and with them its events, links and
deliveries), because a fresh simulator numbers its issues and changes from the start again, and the same
change id would read as a change already delivered. The login is printed last.
"""

import argparse
import json
import os
import secrets
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()  # before the models below are imported: this runs as a script, not inside the service

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from accounts.models import Role  # noqa: E402
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection  # noqa: E402
from linking.models import ConversationLink  # noqa: E402
from sandbox.atlassian_auth import AuthorizationServer  # noqa: E402
from sandbox.intercom import IntercomSimulator  # noqa: E402
from sandbox.jira import APP_USER_TOKEN, JiraSimulator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--service-url", default="http://127.0.0.1:8000")
    parser.add_argument("--jira-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--intercom-port", type=int, default=0, help="0: a free port")
    args = parser.parse_args(argv)
    if not settings.ALLOW_PRIVATE_URLS:
        print("The simulators run on 127.0.0.1: start with ALLOW_PRIVATE_URLS=1 (make demo does).", file=sys.stderr)
        return 2
    run(service_url=args.service_url, jira_port=args.jira_port, intercom_port=args.intercom_port)
    return 0


DEMO_SITE, DEMO_WORKSPACE = "Demo Jira (simulator)", "Demo Intercom (simulator)"


def forget_previous_demo() -> None:
    """Remove the connections an earlier run made: its events, links and deliveries go with them."""
    ProjectConnection.objects.filter(site__name=DEMO_SITE).delete()
    ProjectConnection.objects.filter(workspace__name=DEMO_WORKSPACE).delete()
    JiraSite.objects.filter(name=DEMO_SITE).delete()
    IntercomWorkspace.objects.filter(name=DEMO_WORKSPACE).delete()


def demo_login() -> tuple[str, str]:
    """An admin account for the demo with a fresh password each run (printed last, so it is easy to find)."""
    user, _ = get_user_model().objects.get_or_create(username="demo", defaults={"email": "demo@example.com"})
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.is_active = True
    user.save()
    admin = Role.objects.filter(name="Admin").first()
    if admin:
        user.groups.set([admin])
    return user.username, password


def run(*, service_url: str, jira_port: int, intercom_port: int) -> None:
    jira, intercom, _ = setup(service_url=service_url, jira_port=jira_port, intercom_port=intercom_port)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        jira.stop()
        intercom.stop()


def setup(*, service_url: str, jira_port: int = 0, intercom_port: int = 0):
    """Start and connect the simulators, seed the demo, print what to try; returns (jira, intercom, issue)."""
    forget_previous_demo()
    jira = JiraSimulator(deployment="cloud", port=jira_port)
    intercom = IntercomSimulator(rate_limit=166, latency=0.2, port=intercom_port)
    jira.start()
    intercom.start()
    auth = AuthorizationServer(jira)
    auth.add_client("demo-client", "demo-client-secret", f"{service_url}/sign-in/atlassian/callback")
    developer = jira.add_user("Dee Developer", "dee@example.com")
    auth.set_password(developer, "demo password")
    site, _ = JiraSite.objects.update_or_create(
        base_url=jira.url,
        defaults={"name": DEMO_SITE, "account_email": jira.app_user["emailAddress"],
                  "api_token": APP_USER_TOKEN, "app_account_id": jira.app_user["accountId"],
                  "app_display_name": jira.app_user["displayName"], "health": Health.OK,
                  "jira_instance_id": jira.cloud_id, "oauth_client_id": "demo-client",
                  "oauth_client_secret": "demo-client-secret"},
    )
    workspace, _ = IntercomWorkspace.objects.update_or_create(
        workspace_id=intercom.app["id_code"],
        defaults={"name": DEMO_WORKSPACE, "api_base_url": intercom.url,
                  "access_token": intercom.default_token, "client_secret": "demo-client-secret",
                  "app_admin_id": str(intercom.app_admin["id"]), "app_admin_name": intercom.app_admin["name"],
                  "health": Health.OK},
    )
    project = jira._project("SUP")
    ProjectConnection.objects.update_or_create(
        site=site, project_id=project["id"],
        defaults={"project_key": "SUP", "project_name": project["name"], "workspace": workspace},
    )
    issue = jira.create_issue("SUP", "Checkout page shows a blank screen", issue_type="Bug")
    for n in range(3):
        conversation = intercom.add_conversation(subject=f"Cannot pay (customer {n + 1})")
        ConversationLink.objects.get_or_create(
            site=site, issue_id=issue["id"], workspace=workspace, conversation_id=str(conversation["id"]),
            defaults={"issue_key": issue["key"], "project_key": "SUP", "source": ConversationLink.Source.IMPORT},
        )
    jira.add_webhook(f"{service_url}/webhooks/jira/{site.public_id}", secret=site.webhook_secret)
    teammate = intercom.add_admin("Tess Teammate", "tess@example.com")
    canvas_request = json.dumps({"url": f"{service_url}/inbox/{workspace.public_id}/initialize",
                                 "secret": "demo-client-secret", "conversation_id": conversation["id"],
                                 "admin_id": teammate["id"]})
    print(f"Jira simulator on {jira.url}, Intercom simulator on {intercom.url}.", flush=True)
    print(
        f"{issue['key']} is linked to three conversations. Move it to Done:\n"
        f"  curl -X POST {jira.url}/_sim/issues/{issue['key']}/transition -H 'Content-Type: application/json' "
        "-d '{\"status_name\": \"Done\"}'\n"
        f"then open {service_url}/deliveries/ and {intercom.url}/_sim/ (the conversations and their notes).\n"
        f"Why did (or didn't) a note arrive? {service_url}/explain/?issue={issue['key']}\n"
        f"Sign in with Atlassian on {service_url}/login/ as dee@example.com, password “demo password”.\n"
        "The Inbox app canvas a teammate sees in that conversation (Intercom signs and sends the request):\n"
        f"  curl -X POST {intercom.url}/_sim/canvas/initialize -H 'Content-Type: application/json' "
        f"-d '{canvas_request}'",
        flush=True,
    )
    username, password = demo_login()
    print(f"\nLog in: {service_url}/login/  username: {username}  password: {password}", flush=True)
    return jira, intercom, issue


if __name__ == "__main__":
    sys.exit(main())
