from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from elektra_web.models.delivery import DeliveryStatus, OperationKind
from elektra_web.models.instance import InstanceStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Cluster',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('description', fields.TextField(null=True, unique=False)),
                ('parent', fields.ForeignKeyField('clusterd.Cluster', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cluster', 'app': 'clusterd', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ClusterKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cluster', fields.ForeignKeyField('clusterd.Cluster', source_field='cluster_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.CASCADE)),
                ('path', fields.CharField(max_length=1000)),
                ('value', fields.TextField(null=True, unique=False)),
                ('meta', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'cluster_key', 'app': 'clusterd', 'unique_together': (('cluster', 'path'),), 'pk_attr': 'id', 'table_description': 'A key a cluster sets: locked on every member (rule 3).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Instance',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('host', fields.CharField(unique=True, max_length=500)),
                ('elektrad_id', fields.CharField(null=True, unique=True, max_length=64)),
                ('description', fields.TextField(null=True, unique=False)),
                ('visibility', fields.CharField(default='user', max_length=50)),
                ('status', fields.CharEnumField(default=InstanceStatus.UNKNOWN, description='ONLINE: ONLINE\nOFFLINE: OFFLINE\nUNKNOWN: UNKNOWN', enum_type=InstanceStatus, max_length=10)),
                ('last_seen', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('elektra_version', fields.CharField(null=True, max_length=50)),
                ('cluster', fields.ForeignKeyField('clusterd.Cluster', source_field='cluster_id', null=True, db_constraint=True, to_field='id', related_name='instances', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'instance', 'app': 'clusterd', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Operation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='SET: SET\nDELETE: DELETE\nMOVE: MOVE\nCOPY: COPY\nMETA: META', enum_type=OperationKind, max_length=10)),
                ('path', fields.CharField(max_length=1000)),
                ('cluster', fields.ForeignKeyField('clusterd.Cluster', source_field='cluster_id', null=True, db_constraint=True, to_field='id', related_name='operations', on_delete=OnDelete.SET_NULL)),
                ('instance', fields.ForeignKeyField('clusterd.Instance', source_field='instance_id', null=True, db_constraint=True, to_field='id', related_name='operations', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'operation', 'app': 'clusterd', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('operation', fields.ForeignKeyField('clusterd.Operation', source_field='operation_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('instance', fields.ForeignKeyField('clusterd.Instance', source_field='instance_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SET: SET\nDELETE: DELETE\nMOVE: MOVE\nCOPY: COPY\nMETA: META', enum_type=OperationKind, max_length=10)),
                ('path', fields.CharField(max_length=1000)),
                ('value', fields.TextField(null=True, unique=False)),
                ('target', fields.CharField(null=True, max_length=1000)),
                ('meta_key', fields.CharField(null=True, max_length=200)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='APPLIED: APPLIED\nPENDING: PENDING\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('applied_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'delivery', 'app': 'clusterd', 'indexes': [Index(fields=['instance_id', 'status'])], 'pk_attr': 'id', 'table_description': "One change to send to one instance. The payload is the delivery's own:"},
            bases=['Model'],
        ),
    ]
