"""`dpp labels`: an A4 PDF of labels of an organisation's passports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from passport.cli.common import fail, services, session
from passport.core.errors import PassportError
from passport.services.labels.selection import labels_for
from passport.services.labels.sheet import label_sheet, pages_for
from passport.services.orgs.organisations import get_organisation


def _moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """Read an RFC 3339 / ISO 8601 time; one without an offset is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is no time; use e.g. 2026-03-01T08:00:00Z") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


@click.command("labels")
@click.option("--org", "slug", required=True, help="The organisation whose passports to label")
@click.option(
    "--since",
    callback=_moment,
    metavar="DATETIME",
    help="Only passports issued at or after this time (ISO 8601; UTC without an offset)",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("labels.pdf"),
    show_default=True,
    help="The PDF to write; - for standard output",
)
@with_appcontext
def labels_command(slug: str, since: datetime | None, output: Path) -> None:
    """Write an A4 PDF of labels, 21 a page, one for each passport an organisation issued.

    Each label holds the QR code of the passport's Digital Link URI, the product name and
    its GS1 identity, e.g. (01) 08712345678906 (21) X7QK2M9P. At most 10,000 labels a sheet.
    """
    with session() as sess:
        try:
            org = get_organisation(sess, slug)
            labels = labels_for(sess, services(), issuer=slug, since=since)
            pdf = label_sheet(labels, title=f"Passport labels of {org.name}")
        except PassportError as exc:
            fail(exc)
    if str(output) == "-":
        click.echo(pdf, nl=False)  # bytes go to the binary stream
    else:
        output.write_bytes(pdf)
    pages = pages_for(len(labels))
    click.echo(
        f"wrote {len(labels)} labels on {pages} page{'s' * (pages != 1)} to {output}", err=True
    )
