"""factory-boy factories for every model the tests build; a test names only the fields it is about."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Profile, Role
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection, WebhookEvent
from deliveries.models import Delivery
from linking.models import ConversationLink, IssueSnapshot, LinkChange, SiteSearchSettings, VisibleFields
from notifications.models import NotificationRule


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set([Role.objects.get(name=extracted)])


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(UserFactory)
    jira_account_id = factory.Sequence(lambda n: f"jira-account-{n}")


class JiraSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JiraSite

    name = factory.Sequence(lambda n: f"Jira {n}")
    base_url = factory.Sequence(lambda n: f"https://site{n}.atlassian.net")
    account_email = "connector@example.com"
    api_token = "jira-api-token"
    app_account_id = "app-account-1"
    app_display_name = "Connector app user"
    health = Health.OK


class IntercomWorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IntercomWorkspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    workspace_id = factory.Sequence(lambda n: f"ws{n}")
    access_token = "intercom-access-token"
    client_secret = "intercom-client-secret"
    app_admin_id = "991"
    app_admin_name = "Connector"
    health = Health.OK


class ProjectConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectConnection

    site = factory.SubFactory(JiraSiteFactory)
    workspace = factory.SubFactory(IntercomWorkspaceFactory)
    project_id = factory.Sequence(lambda n: str(10000 + n))
    project_key = factory.Sequence(lambda n: f"P{n}")


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A stored Jira webhook (status received, as intake leaves it); `intercom=True` makes an Intercom one."""

    class Meta:
        model = WebhookEvent

    class Params:
        intercom = factory.Trait(
            source=WebhookEvent.Source.INTERCOM,
            site=None,
            workspace=factory.SubFactory(IntercomWorkspaceFactory),
            event_type="conversation.admin.closed",
            payload=factory.LazyFunction(lambda: {"type": "notification_event", "topic": "conversation.admin.closed"}),
        )

    source = WebhookEvent.Source.JIRA
    site = factory.SubFactory(JiraSiteFactory)
    workspace = None
    delivery_id = factory.Sequence(lambda n: f"delivery-{n}")
    event_type = "jira:issue_updated"
    payload = factory.LazyFunction(lambda: {"webhookEvent": "jira:issue_updated"})


class ConversationLinkFactory(factory.django.DjangoModelFactory):
    """A link row as it is stored, without what the linking services do around it (Jira, history, snapshot)."""

    class Meta:
        model = ConversationLink

    site = factory.SubFactory(JiraSiteFactory)
    issue_id = factory.Sequence(lambda n: str(10000 + n))
    issue_key = factory.Sequence(lambda n: f"SUP-{n + 1}")
    workspace = factory.SubFactory(IntercomWorkspaceFactory)
    conversation_id = factory.Sequence(lambda n: str(500000 + n))
    source = ConversationLink.Source.UI


class LinkChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LinkChange

    site = factory.SubFactory(JiraSiteFactory)
    issue_id = factory.Sequence(lambda n: str(10000 + n))
    conversation_id = factory.Sequence(lambda n: str(500000 + n))
    kind = LinkChange.Kind.ADDED


class IssueSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssueSnapshot

    site = factory.SubFactory(JiraSiteFactory)
    issue_id = factory.Sequence(lambda n: str(10000 + n))
    issue_key = factory.Sequence(lambda n: f"SUP-{n + 1}")


class SiteSearchSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteSearchSettings

    site = factory.SubFactory(JiraSiteFactory)


class VisibleFieldsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisibleFields

    workspace = factory.SubFactory(IntercomWorkspaceFactory)
    entity = VisibleFields.Entity.CONVERSATION
    fields = factory.LazyFunction(list)


class NotificationRuleFactory(factory.django.DjangoModelFactory):
    """A rule for every project that notes each transition."""

    class Meta:
        model = NotificationRule

    name = "Any transition"
    trigger = "issue_transitioned"
    actions = factory.LazyFunction(lambda: [{"type": "note"}])


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A note due now, waiting for the pump."""

    class Meta:
        model = Delivery

    idempotency_key = factory.Sequence(lambda n: f"test:{n}")
    workspace = factory.SubFactory(IntercomWorkspaceFactory)
    conversation_id = "1"
    action = "note"
    next_attempt_at = factory.LazyFunction(timezone.now)
    body = "<p>A note.</p>"
