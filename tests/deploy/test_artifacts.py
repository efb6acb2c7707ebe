"""The deployment artefacts (deploy/Containerfile, deploy/compose.yaml, deploy/k8s) are valid and run exactly
the Procfile's commands.

CI runs no container daemon and cannot pull a base image, so it does not build the image (deploy/README.md says
how it was built by hand with buildah); instead every place that starts a process names a Procfile process
type, and the image's entrypoint (deploy/run) is shown to run that type's line verbatim.
"""

import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
CONTAINERFILE = DEPLOY / "Containerfile"


def procfile() -> dict[str, str]:
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def k8s_documents() -> list[tuple[str, dict]]:
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def pod_specs() -> dict[str, dict]:
    """Every workload's pod spec, by component label."""
    specs = {}
    for _, doc in k8s_documents():
        if doc["kind"] in {"Deployment", "Job"}:
            specs[doc["metadata"]["labels"]["app.kubernetes.io/component"]] = doc["spec"]["template"]["spec"]
    return specs


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


# --- the commands --------------------------------------------------------------------------------------------


@pytest.fixture
def stub_path(tmp_path):
    """Executables that print how they were called, in place of gunicorn, celery and python."""
    for name in ("gunicorn", "celery", "python"):
        stub = tmp_path / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*"\n')
        stub.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("process_type", list(procfile()))
def test_the_entrypoint_runs_each_process_type_as_the_procfile_says(stub_path, process_type):
    env = {"PATH": f"{stub_path}:/usr/bin:/bin", "WORKER_CONCURRENCY": "7", "HOUSEKEEPING_CONCURRENCY": "3"}
    ran = subprocess.run([DEPLOY / "run", process_type], env=env, capture_output=True, text=True, check=True)
    expected = subprocess.run(["sh", "-c", f"echo {procfile()[process_type]}"], env=env, capture_output=True,
                              text=True, check=True)
    assert ran.stdout.strip() == expected.stdout.strip()


@pytest.mark.parametrize("argument", ["nope", "web;id", "", "a.*"])
def test_the_entrypoint_refuses_what_is_not_a_process_type_and_lists_them(argument):
    ran = subprocess.run([DEPLOY / "run", argument], capture_output=True, text=True)
    assert ran.returncode == 64
    assert "release web worker housekeeping beat" in ran.stderr


def test_the_image_runs_the_entrypoint_as_a_user_other_than_root():
    text = CONTAINERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2, "multi-stage: build tools stay out of the image"
    assert re.search(r'^ENTRYPOINT \["/app/deploy/run"\]$', text, re.MULTILINE)
    assert re.search(r'^CMD \["web"\]$', text, re.MULTILINE)
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user and not user[-1].startswith(("0", "root"))
    assert "COPY manage.py Procfile ./" in text and "COPY deploy deploy" in text


def test_the_image_copies_every_app_that_settings_installs():
    copied = set(re.findall(r"^COPY (\w+) \1$", CONTAINERFILE.read_text(), re.MULTILINE))
    own = {app for app in settings.INSTALLED_APPS if (REPO / app).is_dir()}
    assert own | {"config"} <= copied


def test_every_compose_service_of_the_connector_runs_a_procfile_process_type():
    services = compose()["services"]
    types = procfile()
    used = {}
    for name, service in services.items():
        if "build" in service and "entrypoint" not in service:
            (process_type,) = service["command"]
            assert process_type in types, f"{name} runs {process_type}, not a Procfile process type"
            used[process_type] = name
    assert set(used) == set(types), f"process types without a service: {set(types) - set(used)}"
    assert services["migrate"]["command"] == ["release"] and services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "housekeeping", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"postgres", "redis", "nginx"} <= set(services)


def test_every_kubernetes_workload_runs_a_procfile_process_type():
    types = procfile()
    used = set()
    for component, spec in pod_specs().items():
        (container,) = spec["containers"]
        (process_type,) = container["args"]
        assert process_type in types, f"{component} runs {process_type}"
        assert "command" not in container, "the image's entrypoint runs the Procfile line"
        used.add(process_type)
    assert used == set(types)


# --- validity ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,doc", k8s_documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_each_manifest_is_valid_against_the_kubernetes_schemas(name, doc):
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secret():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present


def test_compose_file_is_valid_against_the_compose_specification():
    ran = subprocess.run(
        [Path(sys.executable).parent / "check-jsonschema", "--builtin-schema", "vendor.compose-spec",
         DEPLOY / "compose.yaml"],
        capture_output=True, text=True,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_the_compose_check_catches_a_mistake(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text((DEPLOY / "compose.yaml").read_text().replace('command: ["worker"]', 'comand: ["worker"]'))
    ran = subprocess.run(
        [Path(sys.executable).parent / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", broken],
        capture_output=True, text=True,
    )
    assert ran.returncode != 0 and "comand" in ran.stdout


# --- what the manifests promise ------------------------------------------------------------------------------


def test_web_is_probed_on_healthz_and_readyz_as_an_allowed_host():
    (web,) = pod_specs()["web"]["containers"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    hosts = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        (header,) = web[probe]["httpGet"]["httpHeaders"]
        assert header["name"] == "Host" and header["value"] in hosts


def test_one_beat_replaced_not_rolled_and_budgets_for_web_and_workers():
    deployments = {d["metadata"]["name"]: d for _, d in k8s_documents() if d["kind"] == "Deployment"}
    beat = deployments["connector-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    assert deployments["connector-web"]["spec"]["replicas"] > 1
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
               for _, d in k8s_documents() if d["kind"] == "PodDisruptionBudget"}
    assert budgets == {"web", "worker"}
    jobs = [d for _, d in k8s_documents() if d["kind"] == "Job"]
    assert [j["spec"]["template"]["spec"]["containers"][0]["args"] for j in jobs] == [["release"]]


def test_pods_run_as_non_root_with_limits_and_secrets_from_a_secret():
    for component, spec in pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, component
        (container,) = spec["containers"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, component
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, component
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], component
        sources = container["envFrom"]
        assert {"secretRef": {"name": "connector-secrets"}} in sources, component
        assert "env" not in container, f"{component}: settings come from the ConfigMap and the Secret"
    secret_keys = set(yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"])
    config_keys = set(yaml.safe_load((K8S / "configmap.yaml").read_text())["data"])
    assert {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"} <= secret_keys
    assert not secret_keys & config_keys
