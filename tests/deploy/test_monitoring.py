"""deploy/monitoring checked offline: every alert rule and dashboard query is valid
PromQL, and every metric it reads is one the services really export."""

from __future__ import annotations

import json
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

# Importing a service's modules registers its metrics in the one registry.
import videogen_api_gateway.app  # noqa: F401
import videogen_common.metrics  # noqa: F401
import videogen_credits.metrics  # noqa: F401
import videogen_generation.metrics  # noqa: F401
import videogen_webhook_gateway.routes  # noqa: F401

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
DASHBOARD = json.loads((MONITORING / "grafana-dashboard.json").read_text())


def exported() -> set[str]:
    """Every series name the services can expose (counters' _total, histograms' parts)."""
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        names.update(metric.name + s for s in suffixes.get(metric.type, []))
    return names


def selectors(expr: str) -> list[str]:
    found: list[str] = []

    def visit(node) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


ALERTS = [rule for group in RULES["groups"] for rule in group["rules"]]
QUERIES = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]


@pytest.mark.parametrize("expr", [r["expr"] for r in ALERTS] + QUERIES)
def test_every_query_parses_and_reads_exported_metrics(expr):
    names = selectors(expr)
    assert names, expr
    assert set(names) <= exported(), set(names) - exported()


def test_every_alert_says_what_and_how_bad():
    for rule in ALERTS:
        assert rule["alert"] and rule["labels"]["severity"] in ("page", "warn")
        assert rule["annotations"]["summary"]


def test_a_broken_query_or_an_unknown_metric_would_be_caught():
    with pytest.raises(Exception):  # noqa: B017 (the parser's own error type)
        promql_parser.parse("sum(rate(credits_moved_total[5m])")
    assert "credits_moved_totals" not in exported()
