"""`make k8s` as part of `make test`: every overlay renders and validates, and the
checker does refuse what a cluster would refuse (or silently drop)."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "k8s_check.py"
spec = importlib.util.spec_from_file_location("k8s_check", SCRIPT)
assert spec and spec.loader
k8s_check = importlib.util.module_from_spec(spec)
sys.modules["k8s_check"] = k8s_check
spec.loader.exec_module(k8s_check)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {str(d.name): k8s_check.render(d) for d in k8s_check.overlays()}


def test_every_overlay_renders_and_validates(rendered):
    assert set(rendered) == {"base", "dev", "prod"}
    for name, documents in rendered.items():
        assert k8s_check.problems(documents) == [], name


def _one(documents, kind, name):
    return copy.deepcopy(
        next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)
    )


def test_a_misspelt_field_or_a_wrong_type_is_refused(rendered):
    deployment = _one(rendered["prod"], "Deployment", "credits")
    deployment["spec"]["replica"] = 2
    assert any("replica" in p for p in k8s_check.problems([deployment]))
    deployment = _one(rendered["prod"], "Deployment", "credits")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    assert k8s_check.problems([deployment])


def test_the_postgres_cluster_is_checked_against_its_crd(rendered):
    cluster = _one(rendered["dev"], "Cluster", "videogen-db")
    assert not [p for p in k8s_check.problems([cluster]) if p.startswith("Cluster")]
    cluster["spec"]["instance"] = 1
    assert any("instance" in p for p in k8s_check.problems([cluster]))
    cluster = _one(rendered["dev"], "Cluster", "videogen-db")
    cluster["spec"]["managed"]["roles"][0]["login"] = "yes"
    assert any("login" in p for p in k8s_check.problems([cluster]))


def test_an_unknown_kind_is_not_waved_through():
    made_up = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    assert any("no schema" in p for p in k8s_check.problems([made_up]))


def test_what_the_architecture_needs_is_in_every_overlay(rendered):
    for name, documents in rendered.items():
        services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
        # gRPC spread per call: headless Services, resolved by dns:/// targets.
        assert services["credits"]["spec"]["clusterIP"] == "None", name
        assert services["generation"]["spec"]["clusterIP"] == "None", name
        kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
        for service in ("credits", "generation", "webhook-gateway", "api-gateway"):
            for kind in ("Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
                assert (kind, service) in kinds, (name, kind, service)
    prod = {d["metadata"]["name"]: d for d in rendered["prod"] if d["kind"] == "Deployment"}
    for deployment in prod.values():
        assert deployment["spec"]["replicas"] >= 2
        env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env & {"CREDITS_TLS_CERT_PATH", "GRPC_TLS_CA_PATH"}, deployment["metadata"]
