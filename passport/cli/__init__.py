"""The `dpp` command line: one module per command group; `flask --app passport` has them too."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import ScriptInfo
from flask_smorest.spec import openapi_cli

from passport.cli.events import events_group
from passport.cli.imports import import_command
from passport.cli.keys import key_group
from passport.cli.labels import labels_command
from passport.cli.ledger import audit_command, log_key_command, verify_command
from passport.cli.orgs import org_group, token_group
from passport.cli.serve import init_command, serve_command
from passport.cli.users import user_group

COMMANDS = (
    init_command,
    serve_command,
    org_group,
    token_group,
    user_group,
    key_group,
    import_command,
    labels_command,
    events_group,
    log_key_command,
    audit_command,
    verify_command,
)


def init_app(app: Flask) -> None:
    """Attach the commands to `app.cli` (so `flask --app passport` has them too)."""
    for command in COMMANDS:
        app.cli.add_command(command)


@click.group("dpp", commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="passport-ledger", prog_name="dpp")
def dpp() -> None:
    """The product passport ledger: organisations, keys, bulk import, serving, the audit.

    Settings come from the environment (DATABASE_URL, DPP_BASE_URL, DPP_KEYS_DIR,
    DPP_KEY_PASSPHRASE); `dpp verify` needs none of them.
    """


dpp.add_command(openapi_cli)  # `dpp openapi write …`, as flask-smorest gives `flask openapi`


def main() -> None:
    """Run the `dpp` console script."""
    # Commands load the app lazily through ScriptInfo (so `dpp verify` needs no database);
    # the factory is found by name, as `flask --app passport` finds it.
    dpp.main(prog_name="dpp", obj=ScriptInfo(app_import_path="passport"))
