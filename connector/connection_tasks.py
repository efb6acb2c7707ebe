"""Celery tasks for connection health (periodic re-verification).

The periodic task only fans out ids; each check re-reads its row, so a deleted or revoked connection is
skipped quietly and two overlapping runs do no harm.
"""

import logging

from celery import shared_task

from connector.connections.clients import jira_client
from connector.connections.health import connection_check, connections_to_check, project_permissions_record
from connector.connections.selectors import project_checklist
from connector.models import IntercomWorkspace, JiraSite

logger = logging.getLogger(__name__)
MODELS = {"jira": JiraSite, "intercom": IntercomWorkspace}


@shared_task(name="connector.connection_tasks.connections_health_check")
def connections_health_check() -> int:
    connections = connections_to_check()
    for connection in connections:
        kind = "jira" if isinstance(connection, JiraSite) else "intercom"
        connection_health_check.delay(kind, connection.pk)
    return len(connections)


@shared_task(name="connector.connection_tasks.connection_health_check")
def connection_health_check(kind: str, pk: int) -> bool | None:
    connection = MODELS[kind].objects.filter(pk=pk).first()
    if connection is None:
        return None
    working = connection_check(connection)
    if working and kind == "jira":
        # A site that answers may still be unable to comment or transition: check each project's permissions.
        client = jira_client(connection)
        for project in connection.projects.all():
            checklist = project_checklist(project, client=client)
            if not checklist.error:
                project_permissions_record(project, [item.key for item in checklist.missing])
    return working
