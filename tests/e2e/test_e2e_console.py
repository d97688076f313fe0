"""The admin console and CORS in a real browser: Debian's Chromium, driven by Playwright.

An admin logs in with a token, opens a user, grants credits and sees the balance move
without reloading; a generation the user starts elsewhere appears and finishes on the
page. A page of another origin reads ``detail`` from a 402 and from 404s.
"""

import os
import uuid
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import async_playwright, expect

from videogen_common.service_main import start_site

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialing out, which a machine
# with no way out refuses many times a second.
FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set to a directory to keep screenshots of the console (the README's come from here).
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS_DIR")
TIMEOUT_MS = 20_000


@pytest.fixture
async def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package"
            " (scripts/ensure_chromium.sh); CHROMIUM_PATH names another"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def foreign_origin():
    """A web app's own origin, elsewhere than the API: a blank page to run fetches from."""

    async def blank(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>app</title>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", blank)
    runner, port = await start_site(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def api_settings_overrides(foreign_origin):
    return {"allowed_origins": foreign_origin}


def _bearer(api, user_id: str, **claims) -> str:
    return api.auth(user_id, **claims)["Authorization"].removeprefix("Bearer ")


async def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


async def test_an_admin_grants_credits_and_watches_a_generation_finish(
    api, stack, funded_user, browser
):
    expect.set_options(timeout=TIMEOUT_MS)
    admin, user = str(uuid.uuid4()), await funded_user(100)
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    await page.goto(f"{api.app.base_url}/admin")

    # A valid token without the admin role is turned away.
    await page.fill("#token", _bearer(api, user))
    await page.click("#login-form button")
    await expect(page.locator("#login-error")).to_contain_text("admin role")
    await expect(page.locator("#console")).to_be_hidden()

    await page.fill("#token", _bearer(api, admin, role="admin"))
    await page.click("#login-form button")
    await expect(page.locator("#console")).to_be_visible()
    await page.evaluate("window.loadedOnce = true")  # gone if the page ever reloads

    await page.fill("#user-id", user)
    await page.click("#search-form button")
    balance = page.locator("#balance")
    await expect(balance).to_have_text("100")
    await expect(page.locator("#grants tbody tr")).to_have_count(1)  # the sign-up grant
    await expect(page.locator("#generations tbody tr.empty")).to_have_count(1)
    await expect(page.locator("#live")).to_have_text("live")

    await page.fill("#grant-amount", "25")
    await page.fill("#grant-reason", "goodwill after an outage")
    await page.click("#grant-form button")
    await expect(page.locator("#grant-result")).to_contain_text("credits now 125")
    await expect(balance).to_have_text("125")
    await expect(page.locator("#transactions tbody tr").first).to_contain_text("goodwill")
    await expect(page.locator("#grants tbody tr")).to_have_count(2)

    # The user starts a generation from their own app: the console learns of it from the
    # events stream alone, holds the price while it renders, and shows the video.
    status, created, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": "a red fox running through the snow", "resolution": "480p"},
    )
    assert status == 200, created
    row = page.locator(f'#generations tr[data-id="{created["id"]}"]')
    await expect(row.locator(".status")).to_have_text("completed")
    await expect(row.locator("video")).to_have_count(1)
    await expect(balance).to_have_text(str(125 - created["price"]))
    await expect(page.locator("#holds tbody tr.empty")).to_have_count(1)  # captured

    await page.click("#reconcile")
    await expect(page.locator("#reconcile-result")).to_contain_text(": 0 drifts")
    await _shot(page, "console-account.png")
    assert await page.evaluate("window.loadedOnce === true")
    assert page_errors == []

    # The page loads only from its own origin, and nothing else is served under /admin.
    async with api.session.get("/admin") as response:
        assert response.status == 200
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    for name in ("..%2Fsettings.py", "index.html", "nothing.js"):
        async with api.session.get(f"/admin/static/{name}") as response:
            assert response.status == 404, name


async def test_a_page_of_another_origin_reads_the_detail_of_errors(
    api, stack, funded_user, browser, foreign_origin
):
    broke = await funded_user(0)
    page = await browser.new_page()
    await page.goto(foreign_origin)
    answers = await page.evaluate(
        """async ([base, token]) => {
          const read = async (path, init) => {
            const response = await fetch(base + path, init);
            return [response.status, (await response.json()).detail];
          };
          const auth = { Authorization: `Bearer ${token}`, "X-Client-Info": "app/1.0" };
          return [
            await read("/api/generation/text-to-video", {
              method: "POST",
              headers: { ...auth, "Content-Type": "application/json" },
              body: JSON.stringify({ prompt: "a red fox running", resolution: "480p" }),
            }),
            await read(`/api/generation/status/${crypto.randomUUID()}`, { headers: auth }),
            await read("/api/no-such-route", { headers: auth }),
          ];
        }""",
        [api.app.base_url, _bearer(api, broke)],
    )
    (paid, paid_detail), (missing, missing_detail), (route, route_detail) = answers
    assert paid == 402 and "credits" in paid_detail.lower()
    assert missing == 404 and missing_detail
    assert route == 404 and route_detail
