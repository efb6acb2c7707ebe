import factory
from django.contrib.auth import get_user_model

from accounts.models import Role
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection


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
