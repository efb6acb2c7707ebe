from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deliveries', '0004_delivery_target_type'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='requested_by_name',
            field=models.CharField(blank=True, db_default='', default='', max_length=255),
        ),
    ]
