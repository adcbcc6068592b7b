from tortoise import migrations
from tortoise.migrations import operations as ops
from elektra_web.models.delivery import OperationKind
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('clusterd', '0006_mount_change')]

    initial = False

    operations = [
        ops.CreateModel(
            name='HistoryEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(description="When clusterd learned of the change (the event's time).", auto_now=False, auto_now_add=False)),
                ('actor', fields.CharField(description='The token\'s name for a change through clusterd ("alice (token 2)"),', max_length=200)),
                ('origin', fields.CharField(description='"clusterd" (made through clusterd) or "instance" (made on the machine).', max_length=20)),
                ('operation_id', fields.CharField(null=True, description='The operation (one write through clusterd), null for a change on the machine.', max_length=36)),
                ('op', fields.CharEnumField(description='SET: SET\nDELETE: DELETE\nMOVE: MOVE\nCOPY: COPY\nMETA: META\nMOUNT: MOUNT', enum_type=OperationKind, max_length=10)),
                ('path', fields.CharField(max_length=1000)),
                ('value', fields.TextField(null=True, description="SET: the new value, META: the entry's new value (null: removed).", unique=False)),
                ('previous', fields.TextField(null=True, description="The value (META: the entry's value) before the change, if known.", unique=False)),
                ('meta_key', fields.CharField(null=True, description="META: the metadata entry's name.", max_length=200)),
                ('instance_id', fields.IntField(null=True, description="The instance whose config changed (null: a cluster's own config).")),
                ('cluster_id', fields.IntField(null=True, description="The cluster whose own config changed (null: an instance's config).")),
            ],
            options={'table': 'history_entry', 'app': 'clusterd', 'indexes': [Index(fields=['instance_id', 'path', 'id']), Index(fields=['cluster_id', 'path', 'id']), Index(fields=['at'])], 'pk_attr': 'id', 'table_description': "One changed key of one instance or of one cluster's own config."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Operation',
            name='actor',
            field=fields.CharField(null=True, description='Who asked for it (the caller\'s name, e.g. "alice (token 2)"): the', max_length=200),
        ),
    ]
