import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('linking', '0004_inbox_teammates'),
        ('connector', '0005_webhook_event_purged_at'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerReply',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issue_id', models.CharField(max_length=32)),
                ('issue_key', models.CharField(max_length=64)),
                ('conversation_id', models.CharField(max_length=32)),
                ('part_id', models.CharField(max_length=64)),
                ('author_name', models.CharField(blank=True, max_length=255)),
                ('body', models.TextField(blank=True)),
                ('received_at', models.DateTimeField(auto_now_add=True)),
                ('comment_id', models.CharField(blank=True, max_length=64)),
                ('posted_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['received_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='SupportSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tracker_ticket_type_id', models.CharField(blank=True, max_length=32)),
                ('tracker_auto_create', models.BooleanField(default=False)),
                ('tracker_contact_email', models.EmailField(blank=True, max_length=254)),
                ('jira_key_attribute', models.CharField(blank=True, default='Jira key', max_length=100)),
                ('voice_enabled', models.BooleanField(default=False)),
                ('voice_visibility', models.CharField(choices=[('internal', 'Internal (Jira Service Management: not shared with the customer)'), ('role', 'Restricted to a project role'), ('group', 'Restricted to a group')], default='internal', max_length=8)),
                ('voice_visibility_value', models.CharField(blank=True, max_length=255)),
                ('voice_window_seconds', models.PositiveIntegerField(default=300)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='conversationlink',
            name='uniq_conversation_link',
        ),
        migrations.AddField(
            model_name='conversationlink',
            name='is_tracker',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='conversationlink',
            name='target_type',
            field=models.CharField(choices=[('conversation', 'Conversation'), ('ticket', 'Ticket')], db_default='conversation', default='conversation', max_length=12),
        ),
        migrations.AddField(
            model_name='sitesearchsettings',
            name='replies_field_id',
            field=models.CharField(blank=True, db_default='', max_length=64),
        ),
        migrations.AddField(
            model_name='sitesearchsettings',
            name='replies_field_name',
            field=models.CharField(blank=True, db_default='', max_length=255),
        ),
        migrations.AlterField(
            model_name='conversationlink',
            name='source',
            field=models.CharField(choices=[('ui', 'Issue page'), ('api', 'REST API'), ('url', 'URL in the issue'), ('inbox', 'Intercom Inbox'), ('import', 'Import'), ('tracker', 'Linked to the tracker ticket in Intercom')], max_length=8),
        ),
        migrations.AlterField(
            model_name='jirawrite',
            name='kind',
            field=models.CharField(choices=[('remote_link_sync', 'Write the remote link'), ('remote_link_remove', 'Remove the remote link'), ('issue_search_sync', 'Write the count field and issue property'), ('autolink_resolve', 'Read the issue, then auto-link'), ('customer_voice', "Post the customers' replies as a comment")], max_length=24),
        ),
        migrations.AddConstraint(
            model_name='conversationlink',
            constraint=models.UniqueConstraint(fields=('site', 'issue_id', 'workspace', 'target_type', 'conversation_id'), name='uniq_conversation_link'),
        ),
        migrations.AddConstraint(
            model_name='conversationlink',
            constraint=models.UniqueConstraint(condition=models.Q(('is_tracker', True)), fields=('site', 'issue_id', 'workspace'), name='uniq_tracker_ticket'),
        ),
        migrations.AddField(
            model_name='customerreply',
            name='site',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='connector.jirasite'),
        ),
        migrations.AddField(
            model_name='customerreply',
            name='workspace',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='connector.intercomworkspace'),
        ),
        migrations.AddField(
            model_name='supportsettings',
            name='project',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='support_settings', to='connector.projectconnection'),
        ),
        migrations.AddIndex(
            model_name='customerreply',
            index=models.Index(fields=['site', 'issue_id', 'posted_at'], name='customer_reply_issue'),
        ),
        migrations.AddConstraint(
            model_name='customerreply',
            constraint=models.UniqueConstraint(fields=('site', 'issue_id', 'workspace', 'conversation_id', 'part_id'), name='uniq_customer_reply'),
        ),
    ]
