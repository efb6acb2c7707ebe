# Sign in with Atlassian (issue 13): each site's OAuth 2.0 client, and people's own Jira tokens.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import connector.crypto


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('connector', '0005_webhook_event_purged_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='jirasite',
            name='oauth_client_id',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name='jirasite',
            name='oauth_client_secret',
            field=connector.crypto.EncryptedTextField(blank=True),
        ),
        migrations.CreateModel(
            name='JiraUserToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('account_id', models.CharField(max_length=128)),
                ('access_token', connector.crypto.EncryptedTextField()),
                ('refresh_token', connector.crypto.EncryptedTextField(blank=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('api_base_url', models.URLField(max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('site', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='user_tokens', to='connector.jirasite')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jira_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('site', 'user'), name='uniq_user_token_per_site')],
            },
        ),
    ]
