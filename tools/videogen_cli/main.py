"""`videogen`: tokens, accounts, ledgers, grants, reconcile and generations, by hand.

    videogen token <user-id> [--admin]          a development JWT (HS256)
    videogen account <user-id>                  balance, reserved, grants, plan
    videogen ledger <user-id> [--limit N]       the account's entries (admin route)
    videogen grant <user-id> <amount> --reason R [--kind grant|promo|adjustment]
    videogen reconcile [--user <user-id>]       ledger drift (admin route)
    videogen generation <id>                    a generation (any user) and its changes
    videogen stuck [--older-than S]             generations still open after S s (600)
Every command takes --json (machine-readable output) and --api URL.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid

from .client import CliError, Target

ADMIN = "00000000-0000-4000-8000-0000000000ad"  # the operator's own admin identity


def _user(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a user id (a UUID)") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="videogen", description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("--api", help="the API gateway's URL (default http://127.0.0.1:8000)")
    commands = top.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", parents=[common], help="mint a development JWT")
    token.add_argument("user", type=_user, nargs="?", default=None, help="(default: a new one)")
    token.add_argument("--admin", action="store_true", help="with the admin role")
    token.add_argument("--hours", type=float, default=24.0)
    for name in ("account", "ledger"):
        sub = commands.add_parser(name, parents=[common])
        sub.add_argument("user", type=_user)
        if name == "ledger":
            sub.add_argument("--limit", type=int, default=50)
    grant = commands.add_parser("grant", parents=[common], help="grant or adjust credits")
    grant.add_argument("user", type=_user)
    grant.add_argument("amount", type=int)
    grant.add_argument("--reason", required=True)
    grant.add_argument("--kind", choices=["grant", "promo", "adjustment"], default="grant")
    grant.add_argument("--expires-at", help="ISO 8601, promo only")
    reconcile = commands.add_parser("reconcile", parents=[common])
    reconcile.add_argument("--user", type=_user)
    generation = commands.add_parser("generation", parents=[common])
    generation.add_argument("id", type=_user)
    stuck = commands.add_parser("stuck", parents=[common], help="generations still open")
    stuck.add_argument("--older-than", type=int, default=600, help="seconds (600)")
    stuck.add_argument("--limit", type=int, default=50)
    return top


def run(args: argparse.Namespace, target: Target) -> tuple[object, str]:
    """(the answer, the same for a person to read)."""
    admin = lambda: target.token(ADMIN, admin=True, hours=0.25)  # noqa: E731
    if args.command == "token":
        user = args.user or str(uuid.uuid4())
        token = target.token(user, admin=args.admin, hours=args.hours)
        return {"user_id": user, "token": token}, token
    if args.command == "account":
        as_user = target.token(args.user, hours=0.25)
        credits = target.call("GET", "/api/users/credits", as_user)
        me = target.call("GET", "/api/users/me", as_user)
        answer = {**credits, "plan": me.get("plan"), "plan_period_end": me.get("plan_period_end")}
        lines = [
            f"user      {args.user}",
            f"credits   {credits.get('credits')} (reserved {credits.get('reserved', 0)}, "
            f"debt {credits.get('debt', 0)})",
            f"plan      {me.get('plan')}",
        ]
        lines += [
            f"grant     {g['source']:<12} {g['remaining']:>6}/{g['amount']:<6} "
            f"priority {g['priority']:<3} expires {g['expires_at'] or 'never'}"
            for g in credits.get("grants", [])
        ]
        return answer, "\n".join(lines)
    if args.command == "ledger":
        path = f"/api/admin/users/{args.user}/transactions?limit={args.limit}"
        answer = target.call("GET", path, admin())
        rows = answer.get("transactions", [])
        lines = [
            f"{t['created_at']}  {t['type']:<12} {t['amount']:>7}  -> {t['balance_after']:>7}  "
            f"{t.get('description') or ''}"
            for t in rows
        ]
        return answer, "\n".join(lines) or "(no entries)"
    if args.command == "grant":
        body = {"amount": args.amount, "reason": args.reason, "kind": args.kind}
        if args.expires_at:
            body["expires_at"] = args.expires_at
        answer = target.call("POST", f"/api/admin/users/{args.user}/credits", admin(), body)
        return answer, json.dumps(answer, indent=2)
    if args.command == "reconcile":
        path = "/api/admin/reconcile" + (f"?user_id={args.user}" if args.user else "")
        answer = target.call("POST", path, admin(), {})
        return answer, json.dumps(answer, indent=2)
    if args.command == "stuck":
        path = f"/api/admin/generations/stuck?older_than_s={args.older_than}&limit={args.limit}"
        answer = target.call("GET", path, admin())
        rows = answer.get("generations", [])
        lines = [
            f"{g['created_at']}  {g['id']}  {g['status']:<10} {g['progress']:>3}%  "
            f"user {g['user_id']}  job {g.get('job_id') or '-'}"
            for g in rows
        ]
        return answer, "\n".join(lines) or "(none)"
    answer = target.call("GET", f"/api/admin/generations/{args.id}", admin())
    g = answer["generation"]
    lines = [
        f"generation {g['id']} of user {g['user_id']}: {g['status']} {g['progress']}%",
        f"  {g['type']} {g['model']} {g['resolution']}, job {g.get('job_id') or '-'}, "
        f"price {g['price']}, paid {g['credits_used']}",
    ]
    if g.get("error_message"):
        lines.append(f"  error: {g['error_message']}")
    lines += [
        f"  {c['at']}  {c['status']:<10} {c['progress']:>3}%  charge {c['charge']}"
        for c in answer.get("changes", [])
    ]
    return answer, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        answer, text = run(args, Target.from_environment(args.api))
    except CliError as error:
        print(f"videogen: {error}", file=sys.stderr)
        return 2 if error.unreachable else 1
    print(json.dumps(answer, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
