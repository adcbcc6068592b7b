from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from elektra_web.models.access import TokenRole
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('clusterd', '0002_live_and_drift')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(db_index=True, max_length=200)),
                ('token_id', fields.IntField(null=True)),
                ('action', fields.CharField(db_index=True, max_length=100)),
                ('arguments', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('outcome', fields.CharField(max_length=50)),
                ('operation_id', fields.CharField(null=True, max_length=36)),
            ],
            options={'table': 'audit_entry', 'app': 'clusterd', 'pk_attr': 'id', 'table_description': 'One change made through clusterd (or refused): who, what, when.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Token',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('role', fields.CharEnumField(description='VIEWER: VIEWER\nEDITOR: EDITOR\nADMIN: ADMIN', enum_type=TokenRole, max_length=10)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.CharField(max_length=200)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_by', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'token', 'app': 'clusterd', 'pk_attr': 'id', 'table_description': 'An API token. Only the SHA-256 digest of its secret is stored: the'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Instance',
            name='token',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
