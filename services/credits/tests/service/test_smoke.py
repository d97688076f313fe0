from videogen.credits.v1 import credits_pb2 as pb

from ..helpers import account_with, assert_consistent, new_key


async def test_deduct_then_refund(credits):
    user = await account_with(credits, 30)
    charged = await credits.generation.Deduct(pb.DeductRequest(
        user_id=user, amount=10, reference="gen-1", idempotency_key=new_key()))
    assert charged.balance == 20 and charged.entry.amount == -10
    refunded = await credits.generation.Refund(pb.RefundRequest(
        reference="gen-1", idempotency_key=new_key(), reason="failed"))
    assert refunded.balance == 30 and refunded.entry.amount == 10
    await assert_consistent(credits, user)
