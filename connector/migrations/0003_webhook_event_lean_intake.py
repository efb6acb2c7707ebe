import django.db.models.deletion
from django.db import migrations, models

# Payloads are several kB and stored compressed; lz4 costs a fraction of the default pglz's CPU on every
# delivery. Servers built without lz4 (or older than PostgreSQL 14) keep the default.
PAYLOAD_LZ4 = """
DO $$ BEGIN
    EXECUTE 'ALTER TABLE connector_webhookevent ALTER COLUMN payload SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    NULL;
END $$;
"""


def payload_lz4(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PAYLOAD_LZ4, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("connector", "0002_jira_site_app_user_details"),
    ]

    operations = [
        migrations.AlterField(
            model_name="webhookevent",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="connector.jirasite",
            ),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="workspace",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="connector.intercomworkspace",
            ),
        ),
        migrations.RunPython(payload_lz4, migrations.RunPython.noop, elidable=True),
    ]
