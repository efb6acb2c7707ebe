from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('linking', '0003_conversation_snapshot'),
    ]

    operations = [
        migrations.AddField(
            model_name='conversationlink',
            name='teammate_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=64),
        ),
        migrations.AddField(
            model_name='conversationlink',
            name='teammate_name',
            field=models.CharField(blank=True, db_default='', default='', max_length=255),
        ),
        migrations.AddField(
            model_name='linkchange',
            name='by_name',
            field=models.CharField(blank=True, db_default='', default='', max_length=255),
        ),
    ]
