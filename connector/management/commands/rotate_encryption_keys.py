"""Re-encrypt every stored secret under the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key in front of FIELD_ENCRYPTION_KEYS (keep the old ones), restart, run this command,
then remove the old keys.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from connector.crypto import EncryptedTextField, rotate


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields under the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            columns = [connection.ops.quote_name(f.column) for f in fields]
            with transaction.atomic(), connection.cursor() as cursor:
                # Raw tokens: rotate() re-encrypts without the plain value passing through model code.
                cursor.execute(f"SELECT {pk}, {', '.join(columns)} FROM {table}")  # noqa: S608 - quoted names
                for row in cursor.fetchall():
                    for column, token in zip(columns, row[1:], strict=True):
                        if token:
                            cursor.execute(
                                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                                [rotate(token), row[0]],
                            )
                            total += 1
        self.stdout.write(f"Re-encrypted {total} secret(s) under the newest key.")
