from tortoise import migrations
from tortoise.migrations import operations as ops
from elektra_web.models.delivery import OperationKind
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("clusterd", "0005_token_lifetime")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="Delivery",
            name="kind",
            field=fields.CharEnumField(
                description="SET: SET\nDELETE: DELETE\nMOVE: MOVE\nCOPY: COPY\nMETA: META\nMOUNT: MOUNT",
                enum_type=OperationKind,
                max_length=10,
            ),
        ),
        ops.AlterField(
            model_name="Operation",
            name="kind",
            field=fields.CharEnumField(
                description="SET: SET\nDELETE: DELETE\nMOVE: MOVE\nCOPY: COPY\nMETA: META\nMOUNT: MOUNT",
                enum_type=OperationKind,
                max_length=10,
            ),
        ),
    ]
