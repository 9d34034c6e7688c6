"""CSV templates for bulk issuance: every column a category allows, with an example row."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from passport.core.product.rules import CATEGORIES
from passport.services.context import ServiceContext
from passport.services.passports.bulk import template_csv

blp = Blueprint(
    "templates", __name__, url_prefix="/api/v1", description="CSV templates for bulk issuance"
)


@blp.route(
    "/templates/<string:category>.csv",
    parameters=[
        {
            "in": "path",
            "name": "category",
            "required": True,
            "description": "A product category",
            "schema": {"type": "string", "enum": list(CATEGORIES)},
        }
    ],
)
class Template(MethodView):
    """The CSV template of one product category."""

    @blp.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="Header row and one example row (attachment)",
        headers={"Content-Disposition": {"schema": {"type": "string"}}},
    )
    @blp.alt_response(404, response="NOT_FOUND", description="No such category")
    def get(self, category: str) -> Response:
        """Return the CSV template of a category for POST /passports:bulk.

        The header names every column the category's schema allows (array items numbered
        from 1, five slots or as many as the example uses; language-keyed text in the
        example's languages, any ISO 639-1 code works); the row is the category's example.
        """
        ctx: ServiceContext = current_app.extensions["passport.services"]
        return Response(
            template_csv(ctx, category),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={category}-template.csv"},
        )
