from tortoise import migrations
from tortoise.migrations import operations as ops
from elektra_web.models.delivery import DeliveryStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('clusterd', '0003_tokens_and_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Revision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=64)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'revision', 'app': 'clusterd', 'pk_attr': 'id', 'table_description': 'The one row (``id`` 1) that numbers cluster writes, and ``source``: this'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ClusterKey',
            name='revision',
            field=fields.BigIntField(default=0, db_default=0, description='The revision of the write that last changed it.'),
        ),
        ops.AlterField(
            model_name='Delivery',
            name='status',
            field=fields.CharEnumField(default=DeliveryStatus.PENDING, description='APPLIED: APPLIED\nPENDING: PENDING\nFAILED: FAILED\nSUPERSEDED: SUPERSEDED', enum_type=DeliveryStatus, max_length=10),
        ),
        ops.AddField(
            model_name='Delivery',
            name='revision',
            field=fields.BigIntField(null=True, description="The operation's revision, sent as the fence (None: rows from before fencing)."),
        ),
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['status', 'next_attempt_at']),
        ),
        ops.AddField(
            model_name='Operation',
            name='revision',
            field=fields.BigIntField(null=True, description='Cluster operations: the revision its deliveries are fenced with.'),
        ),
    ]
