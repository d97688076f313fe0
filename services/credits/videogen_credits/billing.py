"""What payments do to the ledger: packages bought at their price, subscription invoices
granting their period's allotment, refunded or disputed payments taken back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from videogen_common.errors import FieldViolation

from .domain import (
    DEFAULT_PRIORITY,
    Account,
    Applied,
    Kind,
    Mutation,
    Op,
    Package,
    Plan,
    PriceMismatch,
    Source,
)
from .rules import raise_if
from .service import Ledger


@dataclass(frozen=True)
class Catalog:
    """The one definition of what is sold: packages and plans (settings, read once)."""

    packages: dict[str, Package]
    plans: dict[str, Plan]
    # A subscription allotment outlives its period by this much, so that the next
    # invoice (paid a little after the period turns) can roll unused credits over.
    subscription_grace: timedelta


class Billing:
    def __init__(self, ledger: Ledger, catalog: Catalog) -> None:
        self.ledger = ledger
        self.catalog = catalog

    def _package(self, package: str, found: list[FieldViolation]) -> Package | None:
        if package not in self.catalog.packages:
            names = ", ".join(sorted(self.catalog.packages))
            found.append(FieldViolation("package", f"must be one of {names}"))
            return None
        return self.catalog.packages[package]

    async def record_purchase(
        self,
        user_id: str,
        package: str,
        paid_amount: int,
        currency: str,
        payment: str,
        key: str,
        provider: str,
    ) -> Applied:
        found: list[FieldViolation] = []
        user_id = self.ledger.user(user_id, found)
        offer = self._package(package, found)
        self.ledger.rules.text("payment_reference", payment, found, length_max=200, required=True)
        self.ledger.rules.key(key, found)
        raise_if(found)
        assert offer is not None
        if paid_amount != offer.price or currency.lower() != offer.currency:
            raise PriceMismatch(
                f"{package} costs {offer.price} {offer.currency}; the payment was "
                f"{paid_amount} {currency.lower() or '(no currency)'}: nothing credited",
                metadata={"price": str(offer.price), "currency": offer.currency},
            )
        # A payment for someone who never called the API opens their account first.
        await self.ledger.ensure_account(user_id)
        return await self.ledger.apply(
            Mutation(
                Op.GRANT,
                user_id,
                offer.credits,
                Kind.PURCHASE,
                payment,
                key,
                f"{offer.credits} credits ({package})",
                provider,
                source=Source.PURCHASE,
                priority=DEFAULT_PRIORITY[Source.PURCHASE],
            )
        )

    async def reverse_payment(self, payment: str, key: str, reason: str, provider: str) -> Applied:
        found: list[FieldViolation] = []
        self.ledger.rules.text("payment_reference", payment, found, length_max=200, required=True)
        self.ledger.rules.key(key, found)
        self.ledger.rules.text("reason", reason, found, length_max=500, required=False)
        raise_if(found)
        return await self.ledger.apply(
            Mutation(
                Op.REVERSE,
                None,
                0,
                Kind.REVERSAL,
                payment,
                key,
                reason or "payment reversed",
                provider,
            )
        )

    async def apply_invoice(
        self,
        user_id: str,
        plan: str,
        invoice: str,
        period_end: datetime | None,
        key: str,
        provider: str,
    ) -> tuple[Applied, Account]:
        found: list[FieldViolation] = []
        user_id = self.ledger.user(user_id, found)
        if plan not in self.catalog.plans:
            found.append(
                FieldViolation("plan", f"must be one of {', '.join(sorted(self.catalog.plans))}")
            )
        self.ledger.rules.text("invoice_reference", invoice, found, length_max=200, required=True)
        if period_end is None:
            found.append(FieldViolation("period_end", "is required"))
        self.ledger.rules.future("period_end", period_end, found)
        self.ledger.rules.key(key, found)
        raise_if(found)
        assert period_end is not None
        terms = self.catalog.plans[plan]
        await self.ledger.ensure_account(user_id)
        account = await self.ledger.set_plan(user_id, plan, period_end)
        if terms.unlimited or terms.allotment == 0:
            return Applied(None, account.available, False), account
        applied = await self.ledger.apply(
            Mutation(
                Op.ALLOT,
                user_id,
                terms.allotment,
                Kind.SUBSCRIPTION,
                invoice,
                key,
                f"{plan} allotment until {period_end.date().isoformat()}",
                provider,
                source=Source.SUBSCRIPTION,
                priority=DEFAULT_PRIORITY[Source.SUBSCRIPTION],
                expires_at=period_end + self.catalog.subscription_grace,
                period_end=period_end,
                rollover_cap=terms.rollover_cap,
            )
        )
        return applied, await self.ledger.get_account(user_id)
