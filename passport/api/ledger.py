"""Ledger endpoints: checkpoint, proofs and entries for all; checkpoint history for auditors."""

from __future__ import annotations

import base64
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from passport.api.auth import authenticated, required_caller
from passport.services.ledger import proofs
from passport.services.ledger.log import entry_bytes_at
from passport.store import db

blp = Blueprint("ledger", __name__, url_prefix="/ledger", description="The tamper-evident log")
audit_blp = Blueprint(
    "ledger-audit", __name__, url_prefix="/api/v1/ledger", description="Auditors' view of the log"
)


MAX_INDEX = 2**62  # beyond any log; keeps query integers inside 64-bit database columns


def b64(data: bytes) -> str:
    """Return standard base64."""
    return base64.b64encode(data).decode()


class InclusionArgs(ma.Schema):
    """Which entry, in which tree."""

    index = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=MAX_INDEX))
    tree_size = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_INDEX))


class ConsistencyArgs(ma.Schema):
    """Between which two tree sizes."""

    from_ = ma.fields.Integer(
        data_key="from", required=True, validate=ma.validate.Range(min=1, max=MAX_INDEX)
    )
    to = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_INDEX))


class InclusionOut(ma.Schema):
    """An RFC 9162 inclusion proof; hashes are standard base64."""

    index = ma.fields.Integer()
    tree_size = ma.fields.Integer()
    leaf_hash = ma.fields.String()
    hashes = ma.fields.List(ma.fields.String())


class ConsistencyOut(ma.Schema):
    """An RFC 9162 consistency proof; hashes are standard base64."""

    from_ = ma.fields.Integer(data_key="from")
    to = ma.fields.Integer()
    hashes = ma.fields.List(ma.fields.String())


class CheckpointOut(ma.Schema):
    """A signed checkpoint note as stored."""

    size = ma.fields.Integer()
    note = ma.fields.String()
    created_at = ma.fields.DateTime()


class CheckpointListArgs(ma.Schema):
    """Paging through checkpoints, newest first."""

    before = ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_INDEX))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))


@blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    """The newest signed checkpoint."""

    @blp.response(200, content_type="text/plain")
    def get(self) -> Response:
        """Return the newest C2SP checkpoint signed note (text/plain)."""
        note = proofs.newest_note(db.session())
        return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@blp.route("/proof/inclusion")
class Inclusion(MethodView):
    """Inclusion proofs."""

    @blp.arguments(InclusionArgs, location="query")
    @blp.response(200, InclusionOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Prove entry `index` is in the tree of `tree_size` (default: latest checkpoint)."""
        proof = proofs.inclusion(db.session(), args["index"], args.get("tree_size"))
        return {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": b64(proof.leaf_hash),
            "hashes": [b64(h) for h in proof.hashes],
        }


@blp.route("/proof/consistency")
class Consistency(MethodView):
    """Consistency proofs."""

    @blp.arguments(ConsistencyArgs, location="query")
    @blp.response(200, ConsistencyOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Prove the tree of `to` (default: latest checkpoint) extends the tree of `from`."""
        proof = proofs.consistency(db.session(), args["from_"], args.get("to"))
        return {
            "from_": proof.old_size,
            "to": proof.new_size,
            "hashes": [b64(h) for h in proof.hashes],
        }


@blp.route("/entries/<int:index>")
class Entry(MethodView):
    """Entries, byte for byte."""

    @blp.response(200, content_type="application/json")
    def get(self, index: int) -> Response:
        """Return the exact bytes of entry `index`; SHA-256(0x00 ‖ body) is its leaf hash."""
        body = entry_bytes_at(db.session(), index)
        return Response(
            body,
            mimetype="application/json",
            headers={"Cache-Control": "max-age=31536000, immutable"},
        )


@audit_blp.route("/checkpoints")
class Checkpoints(MethodView):
    """Every checkpoint the log signed (auditors)."""

    @authenticated
    @audit_blp.doc(security=[{"bearerAuth": []}])
    @audit_blp.arguments(CheckpointListArgs, location="query")
    @audit_blp.response(200, CheckpointOut(many=True))
    def get(self, args: dict[str, Any]) -> list[Any]:
        """List signed checkpoints, newest first (auditor organisations only)."""
        return proofs.list_checkpoints(
            db.session(), required_caller(), limit=args["limit"], before=args.get("before")
        )
