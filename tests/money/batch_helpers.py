"""Payment batches built through the real services: an agreement in execution
(``payment_helpers.payments_setup``) with authorized payments and a prepared advance (prepared by
``treasury``, so ``treasury2`` builds the batch: the preparer never sends it to the bank)."""
from __future__ import annotations

from grants.clock import today
from grants.extensions import db
from grants.services import payment_batches
from tests.money import advance_helpers
from tests.money.payment_helpers import act, authorized, line

ACCOUNT = "mjsp-fondos"  # the default TREASURY_ACCOUNTS entry


def batch_data(payment_ids=(), advance_ids=(), **overrides) -> dict:
    data = {"debtor_account_id": ACCOUNT, "execution_date": today().isoformat(),
            "payment_ids": list(payment_ids), "advance_ids": list(advance_ids)}
    data.update(overrides)
    return data


def some_payments(ctx, amounts=("100.00", "250.55")) -> list:
    return [authorized(ctx, [line(1, "1", amount)]) for amount in amounts]


def prepared_advance(ctx):
    return advance_helpers.prepared(ctx)


def made_batch(ctx, payments=(), advances=(), by: str = "treasury2", **overrides):
    batch = payment_batches.create_batch(act(ctx[by]), batch_data([p.id for p in payments],
                                                                  [a.id for a in advances], **overrides))
    db.session.commit()
    return batch


def issued(ctx, batch, by: str = "treasury2") -> bytes:
    _, data = payment_batches.issue_batch(act(ctx[by]), batch.id)
    db.session.commit()
    return data
