"""`make k8s`: render every Kustomize overlay and validate every object offline.

Kubernetes' own kinds are checked by kubernetes-validate against the schemas of
KUBERNETES_VERSION, strictly (an unknown field is an error, as `kubectl apply
--validate=strict` would make it). CloudNativePG's Cluster is checked against the
operator's CRD schema kept in deploy/k8s/schemas, made strict the same way. Any other
kind is an error: nothing reaches a cluster unchecked. Rendering needs `kubectl`
(its built-in Kustomize); nothing here talks to a cluster.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"  # the newest release kubernetes-validate knows
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): K8S / "schemas" / "postgresql.cnpg.io_v1_cluster.json",
}
# Objects every overlay must hold: what the deployment promises an operator.
REQUIRED_KINDS = {
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "Ingress",
    "Job",
}


def render(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("k8s: kubectl (for its built-in kustomize) is not on PATH")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if rendered.returncode != 0:
        raise SystemExit(f"k8s: kustomize {directory}: {rendered.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def strict(schema: Any) -> Any:
    """The schema with unknown properties refused wherever it lists properties (the API
    server prunes them silently; we would rather hear about a misspelt field)."""
    if isinstance(schema, dict):
        made = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in made
            and "additionalProperties" not in made
            and not made.get("x-kubernetes-preserve-unknown-fields")
        ):
            made["additionalProperties"] = False
        return made
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def _crd_validator(path: Path) -> jsonschema.protocols.Validator:
    schema = strict(json.loads(path.read_text()))
    # The CRD schema covers spec; metadata is the API server's (ObjectMeta).
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def problems(documents: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    validators = {key: _crd_validator(path) for key, path in CRD_SCHEMAS.items()}
    for doc in documents:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in validators:
            for error in validators[key].iter_errors(doc):
                where = ".".join(str(p) for p in error.absolute_path)
                found.append(f"{name}: {where}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            found.append(f"{name}: {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            found.append(f"{name}: no schema for {key[0]} {key[1]}")
    kinds = {doc.get("kind") for doc in documents}
    found += [f"no {kind} rendered" for kind in sorted(REQUIRED_KINDS - kinds)]
    return found


def overlays() -> list[Path]:
    return [K8S / "base", *sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())]


def main() -> int:
    failed = False
    for directory in overlays():
        documents = render(directory)
        found = problems(documents)
        label = directory.relative_to(K8S)
        status = "ok" if not found else f"{len(found)} problems"
        print(f"k8s: {label}: {len(documents)} objects, {status}")
        for problem in found:
            print(f"  {problem}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
