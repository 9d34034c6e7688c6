"""Ending a person's sessions: sessions are signed cookies, so the server keeps a number.

A session names the person and the `session_epoch` it was made under; the session loader
refuses one whose number is no longer the person's. Signing out raises the number, so a copy
of the cookie (a shared phone, a stolen cookie) is worth nothing afterwards, on any device.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col

from passport.store.account_tables import UserRow


def end_sessions(sess: Session, user_id: int) -> None:
    """End every session of person `user_id` (made under the current number)."""
    sess.rollback()  # end a reading transaction the session loader may have begun
    sess.execute(
        update(UserRow)
        .where(col(UserRow.id) == user_id)
        .values(session_epoch=col(UserRow.session_epoch) + 1)
    )
    sess.commit()
