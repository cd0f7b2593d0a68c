# Identity (issue 12 item 2): leads found by external id, per-app identity verification and
# SDK-writable lead fields, and the app that verified a lead.

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import devices.models


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0004_trigger_waits'),
    ]

    operations = [
        migrations.AddField(
            model_name='mobileapp',
            name='identity_verification_required',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='mobileapp',
            name='identity_secret_encrypted',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='mobileapp',
            name='identity_secret_rotated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='mobileapp',
            name='sdk_writable_lead_fields',
            field=models.JSONField(default=devices.models.default_sdk_writable_lead_fields),
        ),
        migrations.AddField(
            model_name='mobileapp',
            name='sdk_writable_custom_fields',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='lead',
            name='external_id',
            field=models.CharField(blank=True, max_length=255, null=True, unique=True),
        ),
        migrations.AddField(
            model_name='lead',
            name='verified_by_app',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='devices.mobileapp'),
        ),
        migrations.AlterField(
            model_name='lead',
            name='email',
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.RemoveConstraint(
            model_name='lead',
            name='lead_email_unique_ci',
        ),
        migrations.AddConstraint(
            model_name='lead',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), condition=models.Q(('email', ''), _negated=True), name='lead_email_unique_ci'),
        ),
        migrations.AddConstraint(
            model_name='lead',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('email', ''), _negated=True), ('external_id__isnull', False), _connector='OR'), name='lead_has_email_or_external_id'),
        ),
    ]
