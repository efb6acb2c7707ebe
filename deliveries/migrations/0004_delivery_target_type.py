# A placeholder so parallel work on this app never clashes on migration numbers; its owner fills it in.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('deliveries', '0003_delivery_purged_at'),
    ]

    operations = []
