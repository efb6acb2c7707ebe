# A placeholder so parallel work on this app never clashes on migration numbers; its owner fills it in.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_token'),
    ]

    operations = []
