from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deliveries', '0003_delivery_purged_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='target_type',
            field=models.CharField(choices=[('conversation', 'Conversation'), ('ticket', 'Ticket')], db_default='conversation', default='conversation', max_length=12),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='action',
            field=models.CharField(choices=[('note', 'Internal note'), ('reply', 'Customer-visible reply'), ('reopen', 'Reopen if closed'), ('close', 'Close'), ('snooze', 'Snooze'), ('assign', 'Assign'), ('tag', 'Add a tag'), ('ticket_state', 'Set the ticket state'), ('ticket_attribute', 'Set a ticket attribute'), ('tracker_create', 'Create the tracker ticket'), ('tracker_sync', 'Keep the tracker ticket in step')], max_length=20),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='source',
            field=models.CharField(choices=[('rule', 'Rule'), ('comment', 'Comment from Jira user'), ('test', 'Test note'), ('tracker', 'Tracker ticket')], default='rule', max_length=10),
        ),
    ]
