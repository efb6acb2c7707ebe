from django.db import migrations

DEFAULTS = [
    {"name": "Note on any transition", "trigger": "issue_transitioned", "position": 10},
    {"name": "Note on public comments", "trigger": "comment_created", "position": 20,
     "comment_visibility": ["public"]},
]


def create_defaults(apps, schema_editor):
    """Sensible defaults for every project: a note on any transition and on public comments, nothing else."""
    Rule = apps.get_model("notifications", "NotificationRule")
    if Rule.objects.exists():
        return
    for rule in DEFAULTS:
        Rule.objects.create(project=None, enabled=True, actions=[{"type": "note"}], **rule)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
