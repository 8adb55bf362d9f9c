#!/usr/bin/env python
import os
import sys

# Schema tooling reads models and migrations only: it signs, serves and connects to nothing
# that needs the secret, so it runs (in CI, in a checkout) without SECRET_KEY.
SCHEMA_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in SCHEMA_COMMANDS:
        os.environ.setdefault("SECRET_KEY", "schema-tooling-only")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
