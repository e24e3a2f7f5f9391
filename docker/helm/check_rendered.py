#!/usr/bin/env python3
"""Checks what `helm template` renders from docker/helm/recstream.

Usage: check_rendered.py RENDERED.yaml TOML_OUT

Asserts the shape a Kubernetes operator relies on (no cluster needed):
a StatefulSet whose pods mount a PersistentVolumeClaim template at the
state directory and the ConfigMap at /etc/recstream, run `recstream run
--config /etc/recstream/recstream.toml`, probe /healthz (liveness,
startup) and /readyz (readiness) on the admin port, carry the Prometheus
scrape annotations (unless disabled) and run as a non-root user; a
headless Service named as the StatefulSet's serviceName; a
PodDisruptionBudget (if enabled) whose selector matches the pods' labels;
every object with apiVersion, kind and metadata.name. Writes the
ConfigMap's recstream.toml to TOML_OUT for `recstream config check`.
Exit 0 when all hold; 1 with one line per failure.
"""
import sys

import yaml


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
    errors = []

    def check(cond, what):
        if not cond:
            errors.append(what)

    by_kind = {}
    for d in docs:
        check(all(k in d for k in ("apiVersion", "kind", "metadata")), f"object without apiVersion/kind/metadata: {d}")
        check(bool(d.get("metadata", {}).get("name")), f"{d.get('kind')} without metadata.name")
        by_kind.setdefault(d.get("kind"), []).append(d)

    sts = by_kind.get("StatefulSet", [])
    check(len(sts) == 1, f"expected one StatefulSet, got {len(sts)}")
    cms = by_kind.get("ConfigMap", [])
    check(len(cms) == 1, f"expected one ConfigMap, got {len(cms)}")
    if errors:
        print("\n".join(errors))
        return 1
    s, cm = sts[0], cms[0]
    spec = s["spec"]
    pod = spec["template"]
    labels = pod["metadata"].get("labels", {})
    check(spec["selector"]["matchLabels"].items() <= labels.items(), "StatefulSet selector does not match its pods")
    annotations = pod["metadata"].get("annotations", {})
    containers = pod["spec"]["containers"]
    check(len(containers) == 1, "expected one container")
    c = containers[0]
    check(c.get("args") == ["run", "--config", "/etc/recstream/recstream.toml"], f"args: {c.get('args')}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check("admin" in ports, "no admin port")

    def probe(name, path):
        p = c.get(name)
        check(p is not None, f"no {name}")
        if p:
            get = p.get("httpGet", {})
            check(get.get("path") == path, f"{name} path {get.get('path')} != {path}")
            check(get.get("port") in ("admin", ports.get("admin")), f"{name} not on the admin port")

    probe("livenessProbe", "/healthz")
    probe("readinessProbe", "/readyz")
    probe("startupProbe", "/healthz")
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    check(mounts.get("state") == "/var/lib/recstream", f"state mount: {mounts.get('state')}")
    check(mounts.get("config") == "/etc/recstream", f"config mount: {mounts.get('config')}")
    claims = [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])]
    check("state" in claims, f"no volumeClaimTemplate named state: {claims}")
    vols = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    check(vols.get("config", {}).get("configMap", {}).get("name") == cm["metadata"]["name"],
          "config volume is not the chart's ConfigMap")
    sec = pod["spec"].get("securityContext", {})
    check(sec.get("runAsNonRoot") is True and sec.get("runAsUser", 0) != 0, "pods may run as root")
    check(int(pod["spec"].get("terminationGracePeriodSeconds", 30)) > 30,
          "grace period must exceed processing.shutdown_timeout_s (30)")
    if annotations.get("prometheus.io/scrape") is not None:
        check(annotations.get("prometheus.io/scrape") == "true", "prometheus.io/scrape is not \"true\"")
        check(str(annotations.get("prometheus.io/port")) == str(ports.get("admin")), "scrape port is not the admin port")
        check(annotations.get("prometheus.io/path") == "/metrics", "scrape path is not /metrics")
    svcs = [x for x in by_kind.get("Service", []) if x["metadata"]["name"] == spec.get("serviceName")]
    check(len(svcs) == 1, f"no Service named serviceName {spec.get('serviceName')}")
    if svcs:
        check(svcs[0]["spec"].get("clusterIP") == "None", "the StatefulSet's Service is not headless")
        check(svcs[0]["spec"]["selector"].items() <= labels.items(), "Service selector does not match the pods")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selector does not match the pods")
        check(("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"]), "PDB needs one of max/minAvailable")
    toml = cm.get("data", {}).get("recstream.toml")
    check(bool(toml), "ConfigMap has no recstream.toml")
    if errors:
        print("\n".join(errors))
        return 1
    open(sys.argv[2], "w").write(toml)
    print(f"ok: {len(docs)} objects ({', '.join(sorted(by_kind))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
