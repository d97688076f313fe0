"""Rules stay plain: the modules that hold the ledger's and the generation's rules, and
the error categories they raise, reach neither grpc nor SQLAlchemy nor aiohttp nor
psycopg, however indirectly (their imports are followed through the repository)."""

import ast
import importlib.util
from pathlib import Path

import pytest

FORBIDDEN = {"grpc", "sqlalchemy", "aiohttp", "psycopg", "psycopg_pool", "google"}
RULE_MODULES = (
    "videogen_credits.domain",
    "videogen_credits.rules",
    "videogen_credits.outcomes",
    "videogen_credits.policy",
    "videogen_generation.domain",
    "videogen_generation.rules",
    "videogen_generation.catalog",
    "videogen_generation.policy",
    "videogen_webhook_gateway.domain",
    "videogen_common.errors",
)
REPO = Path(__file__).resolve().parents[2]


def _file(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    path = Path(spec.origin).resolve()
    return path if REPO in path.parents and ".venv" not in path.parts else None


def _imports(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


def reached(module: str) -> set[str]:
    """Every module ``module`` imports, following the repository's own modules."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _file(name)
        if path is None:
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_imports(path, package))
    return seen


@pytest.mark.parametrize("module", RULE_MODULES)
def test_rule_modules_reach_no_framework(module):
    bad = sorted(m for m in reached(module) if m.split(".")[0] in FORBIDDEN)
    assert bad == [], f"{module} reaches {bad}"


def test_the_check_sees_a_framework_when_there_is_one():
    assert "grpc" in {m.split(".")[0] for m in reached("videogen_credits.servicer")}
