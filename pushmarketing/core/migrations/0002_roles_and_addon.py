from django.db import migrations

ROLES = ("admin", "marketer", "approver")


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    AddOn = apps.get_model("pushmarketing", "AddOn")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    AddOn.objects.get_or_create(code="mobile_push", defaults={"enabled": False})


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("pushmarketing", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create, remove)]
