from tortoise import migrations
from tortoise.migrations import operations as ops
from elektra_web.models.cluster import DriftPolicy
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('clusterd', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Drift',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('instance', fields.ForeignKeyField('clusterd.Instance', source_field='instance_id', db_constraint=True, to_field='id', related_name='drift', on_delete=OnDelete.CASCADE)),
                ('cluster', fields.ForeignKeyField('clusterd.Cluster', source_field='cluster_id', db_constraint=True, to_field='id', related_name='drift', on_delete=OnDelete.CASCADE)),
                ('path', fields.CharField(max_length=1000)),
                ('expected', fields.TextField(null=True, unique=False)),
                ('actual', fields.TextField(null=True, unique=False)),
                ('detected_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'drift', 'app': 'clusterd', 'unique_together': (('instance', 'path'),), 'pk_attr': 'id', 'table_description': "A member whose copy of a cluster key differs from the cluster's value,"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Cluster',
            name='drift_policy',
            field=fields.CharEnumField(default=DriftPolicy.REPORT, db_default='REPORT', description='REPORT: REPORT\nREPAIR: REPAIR', enum_type=DriftPolicy, max_length=10),
        ),
        ops.AddField(
            model_name='Instance',
            name='feed_epoch',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Instance',
            name='feed_revision',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Instance',
            name='follower',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Instance',
            name='follower_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Instance',
            name='sender',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Instance',
            name='sender_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
