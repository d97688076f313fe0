// The admin console: plain modules, no build step, nothing fetched from elsewhere.
// Everything it shows comes from the API gateway's own routes with the admin's JWT;
// data is only ever put in the page as text, never as markup.

const TOKEN_KEY = "videogen-admin-token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY) || "";
let watched = null; // { userId, source }

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child ?? "");
  return node;
}

function detailOf(body, status) {
  // The API's errors: {"detail": "..."} or {"detail": [{"loc": [...], "msg": "..."}]}.
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  }
  return detail || `HTTP ${status}`;
}

async function api(method, path, body, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(detailOf(answer, response.status));
  return answer;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "never";
}

function fill(tableId, rows) {
  const table = $(tableId);
  const empty = el("tr", { class: "empty" }, el("td", { colSpan: 9, textContent: "none" }));
  table.querySelector("tbody").replaceChildren(...(rows.length ? rows : [empty]));
}

function showError(id, error) {
  $(id).textContent = error ? String(error.message || error) : "";
}

// ------------------------------------------------------------------ login

async function logIn(candidate) {
  token = candidate.trim();
  const me = await api("GET", "/api/users/me");
  if (!me.is_admin) throw new Error("This token does not carry the admin role.");
  sessionStorage.setItem(TOKEN_KEY, token);
  $("who").textContent = `admin ${me.id}`;
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
}

function logOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  token = "";
  stopWatching();
  location.reload();
}

// ------------------------------------------------------------------ one user

function generationRow(g) {
  const video = g.video_url
    ? el("video", { src: g.video_url, controls: true, preload: "metadata" })
    : g.error_message || "";
  return el(
    "tr",
    { "data-id": g.id },
    el("td", {}, el("code", { textContent: g.id.slice(0, 8) })),
    el("td", { class: `status status-${g.status}`, textContent: g.status }),
    el("td", { textContent: `${g.model} ${g.resolution}` }),
    el("td", { textContent: String(g.credits_used) }),
    el("td", { textContent: when(g.created_at) }),
    el("td", {}, video),
  );
}

function showGeneration(g) {
  const body = $("generations").querySelector("tbody");
  const row = generationRow(g);
  const existing = body.querySelector(`tr[data-id="${CSS.escape(g.id)}"]`);
  if (existing) existing.replaceWith(row);
  else body.prepend(row);
  body.querySelector("tr.empty")?.remove();
}

async function loadAccount(userId) {
  const account = await api("GET", `/api/admin/users/${userId}`);
  $("balance").textContent = String(account.credits);
  $("reserved").textContent = String(account.reserved);
  $("debt").textContent = String(account.debt);
  $("plan").textContent = account.plan;
  $("next-expiry").textContent = account.next_expiry
    ? `${account.next_expiry.amount} at ${when(account.next_expiry.at)}`
    : "none";
  fill(
    "grants",
    account.grants.map((g) =>
      el(
        "tr",
        {},
        el("td", { textContent: g.source }),
        el("td", { textContent: `${g.remaining} / ${g.amount}` }),
        el("td", { textContent: String(g.priority) }),
        el("td", { textContent: when(g.expires_at) }),
      ),
    ),
  );
  fill(
    "holds",
    account.holds.map((h) =>
      el(
        "tr",
        {},
        el("td", {}, el("code", { textContent: h.reference })),
        el("td", { textContent: String(h.amount) }),
        el("td", { textContent: when(h.expires_at) }),
      ),
    ),
  );
}

async function loadTransactions(userId) {
  const page = await api("GET", `/api/admin/users/${userId}/transactions?limit=50`);
  fill(
    "transactions",
    page.transactions.map((t) =>
      el(
        "tr",
        {},
        el("td", { textContent: when(t.created_at) }),
        el("td", { textContent: t.type }),
        el("td", { textContent: String(t.amount) }),
        el("td", { textContent: String(t.balance_after) }),
        el("td", { textContent: t.description || t.reference || "" }),
      ),
    ),
  );
}

async function loadGenerations(userId) {
  const page = await api("GET", `/api/admin/users/${userId}/generations?limit=50`);
  fill("generations", page.generations.map(generationRow));
}

async function openUser(userId) {
  stopWatching();
  await loadAccount(userId);
  $("account-id").textContent = userId;
  $("user").hidden = false;
  await Promise.all([loadTransactions(userId), loadGenerations(userId)]);
  await watch(userId);
}

// ------------------------------------------------------------------ live updates

function stopWatching() {
  if (watched) watched.source.close();
  watched = null;
  $("live").textContent = "offline";
  $("live").classList.remove("on");
}

async function watch(userId) {
  // EventSource sends no headers: a short-lived events token for this user, minted by
  // the gateway for admins, goes in the query instead of the JWT.
  const minted = await api("POST", `/api/events/token?user_id=${encodeURIComponent(userId)}`);
  const source = new EventSource(`/api/events?token=${encodeURIComponent(minted.token)}`);
  watched = { userId, source };
  source.onopen = () => {
    $("live").textContent = "live";
    $("live").classList.add("on");
  };
  source.onerror = () => {
    $("live").textContent = "reconnecting";
    $("live").classList.remove("on");
  };
  source.addEventListener("balance", (event) => {
    const data = JSON.parse(event.data);
    $("balance").textContent = String(data.credits);
    // Grants, holds and the ledger moved with it.
    loadAccount(userId).catch((e) => showError("console-error", e));
    loadTransactions(userId).catch((e) => showError("console-error", e));
  });
  source.addEventListener("generation", (event) => showGeneration(JSON.parse(event.data)));
}

// ------------------------------------------------------------------ actions

let grantKey = null; // one key per intended change: a retry after a lost answer reuses it

async function applyGrant(userId) {
  const kind = $("grant-kind").value;
  const body = {
    amount: Number.parseInt($("grant-amount").value, 10),
    reason: $("grant-reason").value,
    kind,
  };
  const expires = $("grant-expires").value;
  if (expires && kind !== "adjustment") body.expires_at = new Date(expires).toISOString();
  grantKey = grantKey || crypto.randomUUID();
  const answer = await api("POST", `/api/admin/users/${userId}/credits`, body, {
    "Idempotency-Key": grantKey,
  });
  grantKey = null;
  $("grant-result").textContent = `Done: ${answer.transaction.amount} (${kind}); credits now ${answer.credits}.`;
  $("grant-form").reset();
}

async function reconcile() {
  const result = await api("POST", "/api/admin/reconcile");
  const box = $("reconcile-result");
  const drifts = result.drifts.map((d) =>
    el(
      "li",
      {},
      el("code", { textContent: d.user_id }),
      ` balance ${d.balance}, entries ${d.entries_sum}: ${d.description}`,
    ),
  );
  box.replaceChildren(
    el("h3", { textContent: `Reconciled ${result.accounts_checked} accounts: ${drifts.length} drifts` }),
    el("ul", {}, ...drifts),
  );
  box.hidden = false;
}

async function stuck() {
  const result = await api("GET", "/api/admin/generations/stuck?older_than_s=600&limit=50");
  const box = $("stuck-result");
  const rows = result.generations.map((g) => {
    const open = el("button", { type: "button", textContent: "open user" });
    open.addEventListener("click", () => {
      $("user-id").value = g.user_id;
      openUser(g.user_id).catch((e) => showError("console-error", e));
    });
    return el("li", {}, el("code", { textContent: g.id }), ` ${g.status} since ${when(g.created_at)} `, open);
  });
  box.replaceChildren(
    el("h3", { textContent: `${rows.length} generations open for more than 10 minutes` }),
    el("ul", {}, ...rows),
  );
  box.hidden = false;
}

function guarded(errorId, action) {
  return async (event) => {
    event?.preventDefault();
    showError(errorId, null);
    try {
      await action();
    } catch (error) {
      showError(errorId, error);
    }
  };
}

$("login-form").addEventListener("submit", guarded("login-error", () => logIn($("token").value)));
$("logout").addEventListener("click", logOut);
$("search-form").addEventListener(
  "submit",
  guarded("console-error", () => openUser($("user-id").value.trim())),
);
$("grant-form").addEventListener(
  "submit",
  guarded("grant-result", () => applyGrant(watched ? watched.userId : $("user-id").value.trim())),
);
$("reconcile").addEventListener("click", guarded("console-error", reconcile));
$("stuck").addEventListener("click", guarded("console-error", stuck));
if (token) logIn(token).catch(() => sessionStorage.removeItem(TOKEN_KEY));
