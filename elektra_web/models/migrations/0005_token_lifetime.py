from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('clusterd', '0004_convergence')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Token',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Token',
            name='rotated_from',
            field=fields.IntField(null=True),
        ),
    ]
