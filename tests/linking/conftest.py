"""Fixtures for linking: the simulators wired to a connected site, workspace and project, and eager tasks."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from config.celery import app as celery_app
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from linking import snapshots, tasks
from linking.models import ConversationLink
from notifications.models import NotificationRule
from pipeline import process
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests import factories


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()




@dataclass
class Connected:
    jira: JiraSimulator
    intercom: IntercomSimulator
    site: JiraSite
    workspace: IntercomWorkspace
    project: ProjectConnection

    def issue(self, summary: str = "Checkout fails", **options) -> dict:
        return self.jira.create_issue("SUP", summary, **options)

    def sim_issue(self, key: str) -> dict:
        return self.jira.issue(key)

    def link(self, issue: dict, conversation_id: str, *, refresh: bool = True, **fields) -> ConversationLink:
        """A link row for an issue of the simulator, stored directly (no service, nothing written to Jira);
        then, unless told not to, the background refresh reads its conversation into a snapshot."""
        link = factories.ConversationLinkFactory(
            site=self.site,
            workspace=self.workspace,
            issue_id=issue["id"],
            issue_key=issue["key"],
            project_key=self.project.project_key,
            conversation_id=conversation_id,
            **fields,
        )
        snapshots.snapshots_ensure(self.workspace.pk, [conversation_id])  # as link_create does
        if refresh:
            self.refresh()
        return link

    def refresh(self) -> dict:
        """What the periodic snapshot refresh does, run here: read the wanted conversations from Intercom."""
        return tasks.snapshots_refresh()


@pytest.fixture
def connected(db, jira_sim, intercom_sim) -> Connected:
    app_user = jira_sim.app_user
    # Asking Jira Cloud about another user's permissions needs Administer Jira: these tests are about the issue
    # page as it works with such an app user (test_forge_panel and test_atlassian_sign_in cover one without).
    jira_sim.set_global_permissions(app_user["accountId"], {"ADMINISTER"})
    site = factories.JiraSiteFactory(
        base_url=jira_sim.url,
        account_email=app_user["emailAddress"],
        api_token=APP_USER_TOKEN,
        app_account_id=app_user["accountId"],
    )
    workspace = factories.IntercomWorkspaceFactory(
        workspace_id="sandbox1",
        api_base_url=intercom_sim.url,
        access_token=intercom_sim.default_token,
        app_admin_id=intercom_sim.app_admin["id"],
    )
    sup = next(p for p in jira_sim.projects.values() if p["key"] == "SUP")
    project = factories.ProjectConnectionFactory(
        site=site, workspace=workspace, project_id=sup["id"], project_key="SUP"
    )
    return Connected(jira_sim, intercom_sim, site, workspace, project)


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """Run tasks inline when their on-commit hooks fire, so one test sees the whole effect at the simulators."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    try:
        yield django_capture_on_commit_callbacks
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


class HookReceiver:
    """Collects the webhooks a simulator sends, so a test can feed them through intake and processing."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def take(self) -> list[bytes]:
        taken, self.bodies = self.bodies, []
        return taken

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def jira_hooks(connected):
    receiver = HookReceiver()
    connected.jira.add_webhook(receiver.url)
    yield receiver
    receiver.stop()


@pytest.fixture
def no_rules(db):
    """No rule is enabled: these tests are about links, not about notes being planned."""
    NotificationRule.objects.update(enabled=False)


@pytest.fixture
def deliver(client, connected, jira_hooks, eager, no_rules):
    """Send what Jira emitted since the last call through intake and processing; tasks run inline."""
    from tests.webhooks import post_jira

    def run() -> list[str]:
        outcomes = []
        for raw in jira_hooks.take():
            with eager(execute=False):  # the intake's own enqueue: processing is called right below instead
                response = post_jira(client, connected.site, None, body=raw)
            assert response.status_code == 202, response.content
            with eager(execute=True):
                outcomes.append(process.webhook_event_process(response.json()["id"]))
        return outcomes

    return run
