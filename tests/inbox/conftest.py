"""Fixtures for the Inbox app: both simulators, a connected site, workspace and project, a teammate and a
conversation, and a client that sends canvas requests signed as Intercom signs them. Every canvas answered
is checked against Intercom's 2.11 schemas."""

from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from sandbox import canvas as sim_canvas
from sandbox.intercom import IntercomSimulator
from sandbox.jira import APP_USER_TOKEN, JiraSimulator
from tests import factories

CLIENT_SECRET = "inbox-client-secret"
EMPTY_CANVAS = {"content": {"components": []}}


@dataclass
class Inbox:
    client: object
    jira: JiraSimulator
    intercom: IntercomSimulator
    site: JiraSite
    workspace: IntercomWorkspace
    project: ProjectConnection
    teammate: dict
    conversation: dict
    team_ids: list = field(default_factory=list)

    def requests(self, *, admin: dict | None = None, team_ids: list | None = None) -> sim_canvas.CanvasRequests:
        return sim_canvas.CanvasRequests(
            self.intercom,
            conversation_id=self.conversation["id"],
            admin=admin or self.teammate,
            team_ids=self.team_ids if team_ids is None else team_ids,
        )

    def post(self, kind: str, payload: dict, *, secret: str = CLIENT_SECRET, headers: dict | None = None,
             public_id=None):
        raw, signed_headers = sim_canvas.signed(payload, secret)
        sent = signed_headers if headers is None else headers
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sent.items() if k != "Content-Type"}
        url = reverse(f"inbox_{kind}", args=[public_id or self.workspace.public_id])
        return self.client.post(url, data=raw, content_type="application/json", **extra)

    def _canvas(self, response, schema: str) -> dict:
        assert response.status_code == 200, response.content
        answer = response.json()
        assert sim_canvas.schema_errors(schema, answer) == []
        return answer["canvas"]

    def initialize(self, **who) -> dict:
        return self._canvas(self.post("initialize", self.requests(**who).initialize()), "initialize_response")

    def click(self, component_id: str, current: dict, inputs: dict | None = None, **who) -> dict:
        payload = self.requests(**who).submit(component_id, current, inputs)
        assert sim_canvas.schema_errors("submit_request", payload) == []
        return self._canvas(self.post("submit", payload), "submit_response")


def texts(canvas: dict) -> str:
    """Everything a teammate reads on the canvas, one component a line."""
    lines = []
    for component in canvas["content"]["components"]:
        lines += [str(component.get(k)) for k in ("text", "label") if component.get(k)]
        lines += [f"{i['title']} {i.get('subtitle', '')}" for i in component.get("items") or []]
    return "\n".join(lines)


def component(canvas: dict, component_id: str) -> dict:
    for found in canvas["content"]["components"]:
        if found.get("id") == component_id:
            return found
        for item in found.get("items") or []:
            if item["id"] == component_id:
                return item
    raise AssertionError(f"no component {component_id} in {texts(canvas)}")


@pytest.fixture
def inbox(db, client, jira_sim, intercom_sim) -> Inbox:
    app_user = jira_sim.app_user
    site = factories.JiraSiteFactory(
        base_url=jira_sim.url,
        account_email=app_user["emailAddress"],
        api_token=APP_USER_TOKEN,
        app_account_id=app_user["accountId"],
        app_display_name=app_user["displayName"],
    )
    workspace = factories.IntercomWorkspaceFactory(
        workspace_id=intercom_sim.app["id_code"],
        api_base_url=intercom_sim.url,
        access_token=intercom_sim.default_token,
        client_secret=CLIENT_SECRET,
        app_admin_id=intercom_sim.app_admin["id"],
    )
    sup = next(p for p in jira_sim.projects.values() if p["key"] == "SUP")
    project = factories.ProjectConnectionFactory(
        site=site, workspace=workspace, project_id=sup["id"], project_key="SUP", project_name="Support"
    )
    teammate = intercom_sim.add_admin("Tess Teammate", "tess@example.com")
    conversation = intercom_sim.add_conversation(subject="Checkout fails", body="<p>I cannot pay with my card.</p>")
    return Inbox(client, jira_sim, intercom_sim, site, workspace, project, teammate, conversation)


@pytest.fixture
def eager_tasks(django_capture_on_commit_callbacks):
    """Tasks run inline when their on-commit hooks fire."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    try:
        yield django_capture_on_commit_callbacks
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old
