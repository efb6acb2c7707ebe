# Sign in with Atlassian (issue 13): the sign-in policy.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_token'),
    ]

    operations = [
        migrations.CreateModel(
            name='SignInPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('atlassian_required', models.BooleanField(default=False)),
                ('create_accounts', models.BooleanField(default=True)),
                ('new_account_role', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.role')),
            ],
        ),
    ]
