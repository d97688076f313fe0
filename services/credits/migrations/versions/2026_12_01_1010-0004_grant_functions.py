"""The ledger's money movements over grants and holds, in the database: one function per
piece (post an entry, take from grants in spend order, give shares back, open a grant),
one dispatcher per batch item, and the two sweeps (grant expiry, hold timeout).

Lock order everywhere: the account row first, then its grants and holds. Sweeps skip
accounts another transaction holds, so any number of replicas may run them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from pathlib import Path

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen with this revision: a later change gets files (and a revision) of its own.
SQL = Path(__file__).resolve().parents[1] / "sql"
FILES = ("0004_pieces.sql", "0004_apply.sql", "0004_sweeps.sql")

DROP_OLD = """
DROP FUNCTION credits.apply_batch(text[], uuid[], bigint[], text[], text[], text[], text[],
                                  text[], text[]);
DROP FUNCTION credits.apply_one(int, text, uuid, bigint, text, text, text, text, text, text);
DROP FUNCTION credits.conflict(int, text, text, text);
DROP FUNCTION credits.replay(int, text, text);
DROP TYPE credits.outcome;
"""


def upgrade() -> None:
    op.execute(DROP_OLD)
    for name in FILES:
        op.execute((SQL / name).read_text())


def downgrade() -> None:
    raise NotImplementedError("the grant model cannot be folded back into plain balances")
