"""The seeded workload, over HTTP as a frontend and a payment provider would send it.

Every POST carries an Idempotency-Key and is retried with the same key after a 5xx, a
timeout or a lost connection, as a careful client would. What was answered is recorded
for the audit: which generation each key named, which purchases and grants were
acknowledged. The seed fixes each user's sequence of actions (not their timing).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp
from stripe import WebhookSignature

from videogen_common.testing.tokens import make_jwt

PACKAGES = {"credits_100": 100, "credits_500": 500, "credits_2000": 2000}
PRICES = {"credits_100": 500, "credits_500": 2000, "credits_2000": 6000}  # cents
PROMPTS = (
    "a red fox running through fresh snow",
    "a lighthouse at dusk, waves crashing",
    "a paper boat drifting down a rainy street",
    "an old train crossing a bridge",
)
MARKERS = ("", "", "", "", "", " [slow]", " [fail]", " [abort]", " [cancel]")
ATTEMPTS_MAX = 8
TIMEOUT_S = 10.0
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01"
    b"\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Records:
    """What the stack answered, for the audit."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    # (user, Idempotency-Key) -> every generation id a 2xx answer named
    keys: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # payment id -> (user, credits, event body); acknowledged ones in ``paid``
    purchases: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    paid: set[str] = field(default_factory=set)
    # admin key -> (user, amount); acknowledged ones in ``granted``
    grants: dict[str, tuple[str, int]] = field(default_factory=dict)
    granted: set[str] = field(default_factory=set)
    users: list[str] = field(default_factory=list)


def user_token(secret: str, user: str, role: str = "authenticated") -> str:
    return make_jwt(user, secret=secret, role=role, expires_in_s=6 * 3600)


class Workload:
    def __init__(
        self,
        api_url: str,
        webhooks_url: str,
        jwt_secret: str,
        stripe_secret: str,
        seed: int,
        users: int,
    ) -> None:
        self.api_url, self.webhooks_url = api_url, webhooks_url
        self.jwt_secret, self.stripe_secret = jwt_secret, stripe_secret
        self.rng = random.Random(seed)
        self.records = Records()
        self.user_ids = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(users)
        ]
        self.records.users = list(self.user_ids)
        self.admin = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Workload:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def _send(self, method: str, url: str, **kwargs) -> tuple[int, object]:
        """One request, repeated as it was (same key, same body) while the answer is a
        5xx, a timeout or a broken connection. (0, None) if it never got an answer."""
        assert self._session is not None
        for attempt in range(ATTEMPTS_MAX):
            self.records.requests += 1
            try:
                async with self._session.request(method, url, **kwargs) as response:
                    body = await response.read()
                    self.records.statuses[response.status] += 1
                    if response.status < 500:
                        try:
                            return response.status, json.loads(body or b"null")
                        except ValueError:
                            return response.status, None
            except (aiohttp.ClientError, OSError, TimeoutError):
                self.records.statuses["lost"] += 1
            await asyncio.sleep(min(0.2 * 2**attempt, 3.0))
        return 0, None

    def _auth(self, user: str, role: str = "authenticated") -> dict[str, str]:
        return {"Authorization": f"Bearer {user_token(self.jwt_secret, user, role)}"}

    async def run_user(self, index: int, stop: asyncio.Event) -> None:
        user = self.user_ids[index]
        rng = random.Random(f"{self.rng.random()}:{index}")
        mine: list[str] = []
        await self._send("GET", f"{self.api_url}/api/users/credits", headers=self._auth(user))
        step = 0
        while not stop.is_set():
            step += 1
            action = rng.choices(
                ("t2v", "i2v_url", "i2v_upload", "cancel", "retry", "read", "buy", "grant"),
                (40, 8, 4, 10, 6, 20, 7, 5),
            )[0]
            await getattr(self, f"_{action}")(user, rng, mine, f"{index}-{step}")
            await asyncio.sleep(rng.uniform(0.2, 1.2))

    async def _create(self, user: str, path: str, key: str, **kwargs) -> None:
        status, body = await self._send(
            "POST",
            f"{self.api_url}{path}",
            headers={**self._auth(user), "Idempotency-Key": key, **kwargs.pop("headers", {})},
            **kwargs,
        )
        if 200 <= status < 300 and isinstance(body, dict) and body.get("id"):
            self.records.keys[(user, key)].add(body["id"])

    def _prompt(self, rng: random.Random) -> str:
        return rng.choice(PROMPTS) + rng.choice(MARKERS)

    async def _t2v(self, user, rng, mine, tag) -> None:
        model, resolution = rng.choice(
            (("t2v-14B", "480p"), ("t2v-14B", "720p"), ("t2v-1.3B", "480p"))
        )
        await self._create(
            user,
            "/api/generation/text-to-video",
            f"t2v-{tag}",
            json={
                "prompt": self._prompt(rng),
                "model": model,
                "resolution": resolution,
                "duration": rng.randint(1, 10),
            },
        )
        mine.extend(self.records.keys.get((user, f"t2v-{tag}"), ()))

    async def _i2v_url(self, user, rng, mine, tag) -> None:
        await self._create(
            user,
            "/api/generation/image-to-video",
            f"i2v-{tag}",
            json={
                "prompt": self._prompt(rng),
                "resolution": rng.choice(("480p", "720p")),
                "image_url": f"https://images.example.test/{tag}.png",
            },
        )
        mine.extend(self.records.keys.get((user, f"i2v-{tag}"), ()))

    async def _i2v_upload(self, user, rng, mine, tag) -> None:
        form = aiohttp.FormData()
        form.add_field("prompt", self._prompt(rng))
        form.add_field("resolution", "480p")
        form.add_field("image", PNG, filename="in.png", content_type="image/png")
        await self._create(user, "/api/generation/image-to-video", f"up-{tag}", data=form)
        mine.extend(self.records.keys.get((user, f"up-{tag}"), ()))

    async def _cancel(self, user, rng, mine, tag) -> None:
        if mine:
            gid = rng.choice(mine[-5:])
            await self._send(
                "POST",
                f"{self.api_url}/api/generation/{gid}/cancel",
                headers={**self._auth(user), "Idempotency-Key": f"c-{tag}"},
            )

    async def _retry(self, user, rng, mine, tag) -> None:
        if mine:
            gid = rng.choice(mine[-5:])
            await self._create(user, f"/api/generation/{gid}/retry", f"r-{tag}")

    async def _read(self, user, rng, mine, tag) -> None:
        path = rng.choice(
            ("/api/users/credits", "/api/generation/history", "/api/users/transactions")
        )
        if mine and rng.random() < 0.5:
            path = f"/api/generation/status/{rng.choice(mine)}"
        await self._send("GET", f"{self.api_url}{path}", headers=self._auth(user))

    async def _buy(self, user, rng, mine, tag) -> None:
        package = rng.choice(sorted(PACKAGES))
        payment = f"cs_soak_{tag}_{rng.getrandbits(32):08x}"
        body = json.dumps(
            {
                "id": f"evt_{payment}",
                "object": "event",
                "type": "checkout.session.completed",
                "data": {
                    "object": {
                        "id": f"cs_{payment}",
                        "object": "checkout.session",
                        "mode": "payment",
                        "payment_intent": payment,
                        "amount_total": PRICES[package],
                        "currency": "usd",
                        "client_reference_id": user,
                        "payment_status": "paid",
                        "metadata": {"package": package},
                    }
                },
            }
        ).encode()
        self.records.purchases[payment] = (user, PACKAGES[package], body)
        await self.deliver_purchase(payment)
        if rng.random() < 0.3:
            await self.deliver_purchase(payment)  # the provider delivers it again

    async def deliver_purchase(self, payment: str) -> bool:
        _, _, body = self.records.purchases[payment]
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": WebhookSignature.generate_signature_header(
                body.decode(), self.stripe_secret
            ),
        }
        status, _ = await self._send(
            "POST", f"{self.webhooks_url}/api/webhooks/stripe", data=body, headers=headers
        )
        if 200 <= status < 300:
            self.records.paid.add(payment)
        return 200 <= status < 300

    async def _grant(self, user, rng, mine, tag) -> None:
        key = f"g-{tag}"
        amount = rng.choice((5, 10, 25))
        self.records.grants[key] = (user, amount)
        await self.deliver_grant(key)

    async def deliver_grant(self, key: str) -> bool:
        user, amount = self.records.grants[key]
        status, _ = await self._send(
            "POST",
            f"{self.api_url}/api/admin/users/{user}/credits",
            headers={**self._auth(self.admin, "admin"), "Idempotency-Key": key},
            json={"amount": amount, "reason": "soak support grant"},
        )
        if 200 <= status < 300:
            self.records.granted.add(key)
        return 200 <= status < 300

    async def finish_unacknowledged(self) -> None:
        """As the payment provider and the admin would: try again until acknowledged."""
        for payment in sorted(set(self.records.purchases) - self.records.paid):
            await self.deliver_purchase(payment)
        for key in sorted(set(self.records.grants) - self.records.granted):
            await self.deliver_grant(key)
