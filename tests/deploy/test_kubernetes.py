"""The Kubernetes manifests (deploy/kubernetes/): valid against the Kubernetes API schemas
(kubernetes-validate bundles them; no cluster needed), and safe as deployed: no secret written
in them, Rasa's HTTP API off, CORS not opened, non-root pods with probes and sized resources,
the action server reachable only from the Rasa server, the chat reachable only over HTTPS."""

from pathlib import Path
from typing import Any, Dict, Iterator, List

import kubernetes_validate
import pytest
import yaml

from settings import PROJECT_DIR

MANIFESTS = PROJECT_DIR / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.28.0"
SECRET_NAMES = ("TOKEN", "PASSWORD", "SECRET", "DATABASE_URL", "WEBHOOK_URL")
# What the public may reach: the chat, nothing else (publishing, Rasa's other routes).
PUBLIC_PATHS = {"/socket.io/", "/widget/", "/webhooks/rest/webhook", "/webhooks/telegram/webhook"}


def manifest_files() -> List[Path]:
    return sorted(path for path in MANIFESTS.glob("*.yaml") if path.name != "kustomization.yaml")


def resources() -> List[Dict[str, Any]]:
    return [doc for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def of_kind(kind: str) -> List[Dict[str, Any]]:
    return [resource for resource in resources() if resource["kind"] == kind]


def deployment(name: str) -> Dict[str, Any]:
    [found] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == name]
    return found


def containers() -> Iterator[Dict[str, Any]]:
    for found in of_kind("Deployment"):
        yield from found["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_every_manifest_is_valid_against_the_kubernetes_schema(path):
    for resource in yaml.safe_load_all(path.read_text()):
        # strict: a misspelt or misplaced field fails, as `kubectl apply --validate=strict` would.
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misplaced_field():
    broken = deployment("rasa")
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest():
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == [path.name for path in manifest_files()]


def test_no_secret_is_written_in_the_manifests():
    assert of_kind("Secret") == []
    for container in containers():
        for variable in container.get("env", []):
            if any(word in variable["name"] for word in SECRET_NAMES):
                assert "value" not in variable, variable["name"]
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "assistant-secrets"
    for config_map in of_kind("ConfigMap"):
        assert not [key for key in config_map["data"] if any(word in key for word in SECRET_NAMES)]


def test_rasas_http_api_is_off_and_cors_is_not_opened():
    [rasa] = deployment("rasa")["spec"]["template"]["spec"]["containers"]
    assert rasa["args"][:3] == ["python", "-m", "rasa_plugins.server"]
    assert not {"RASA_JWT_SECRET", "RASA_API_TOKEN"} & {variable["name"] for variable in rasa["env"]}
    assert "--enable-api" not in rasa["args"]
    assert "--cors" not in rasa["args"]
    [settings] = of_kind("ConfigMap")
    assert "*" not in settings["data"]["WIDGET_ORIGINS"].split()


def test_rasa_runs_two_replicas_and_every_pod_runs_as_non_root_with_probes_and_resources():
    assert deployment("rasa")["spec"]["replicas"] == 2
    for found in of_kind("Deployment"):
        pod = found["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert container["readinessProbe"] and container["livenessProbe"]
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert "memory" in container["resources"]["limits"]


def test_only_the_rasa_server_reaches_the_action_server_and_only_the_ingress_reaches_rasa():
    policies = {policy["metadata"]["name"]: policy["spec"] for policy in of_kind("NetworkPolicy")}
    deny_all = [spec for spec in policies.values() if spec["podSelector"] == {} and not spec.get("ingress")]
    assert deny_all, "without a default deny, any pod could reach any other"
    by_target = {
        spec["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name"): spec for spec in policies.values()
    }
    [actions_rule] = by_target["actions"]["ingress"]
    assert actions_rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rasa"}}}]
    assert actions_rule["ports"] == [{"port": 5055, "protocol": "TCP"}]
    [rasa_rule] = by_target["rasa"]["ingress"]
    [source] = rasa_rule["from"]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}


def test_the_ingress_serves_only_the_chat_over_https_with_sticky_sessions():
    [ingress] = of_kind("Ingress")
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    assert [host for tls in ingress["spec"]["tls"] for host in tls["hosts"]] == hosts
    paths = {path["path"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert paths == PUBLIC_PATHS
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"


def test_the_containers_run_what_the_images_hold():
    """The commands name the model and configuration the Rasa image copies, and the actions package."""
    [rasa] = deployment("rasa")["spec"]["template"]["spec"]["containers"]
    args = rasa["args"]
    for option, path in (("--credentials", "credentials.yml"), ("--endpoints", "endpoints.yml")):
        assert args[args.index(option) + 1] == path and (PROJECT_DIR / path).is_file()
    assert args[args.index("--model") + 1] == "models/back-pain-assistant.tar.gz"
    [actions] = deployment("actions")["spec"]["template"]["spec"]["containers"]
    assert actions["args"] == ["python", "-m", "actions.server"] and (PROJECT_DIR / "actions" / "server.py").is_file()
