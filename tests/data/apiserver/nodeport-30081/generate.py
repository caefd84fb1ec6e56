#!/usr/bin/env python3
"""Recorded API server responses for the four stages of the NodePort 30081 case
(fixtures/nodeport-30081/). The loopback API server of tests/tests/support/fake_apiserver.rs
serves one stage directory; the real kubectl (1.32) reads it, and what kubectl prints becomes the
stage's k8s/*.yaml (see fixtures/nodeport-30081/README.md).

    python3 tests/data/apiserver/nodeport-30081/generate.py      # rewrites the four stage dirs

The cluster matches the VM lab node of tests/vm/scenarios/nodeport-30081-*.sh: node1 is the
captured node (eth0 192.168.122.96, Calico block 10.244.0.0/26, pod web 10.244.0.5), node2 is
the peer namespace (192.168.122.97, block 10.244.1.0/26, pods 10.244.1.2 coredns and 10.244.1.3
web). The Calico pool is deliberately not called default-ipv4-ippool.

kube-proxy's behaviour when IPVS cannot be used (stage 1) follows its source; the reasoning and
the sources are in fixtures/nodeport-30081/README.md.
"""
import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KVER = "6.1.0-56-amd64"  # the VM lab's kernel (Debian bookworm linux-image-amd64)
CREATED = "2026-11-20T08:00:00Z"
STAGES = ["1-modules-missing", "2-ipip-always", "3-tunl0-up", "4-healthy"]
# When each stage was captured (the API objects' change times and pod start times follow it).
AT = {
    "1-modules-missing": "2026-11-20T08:20:00Z",
    "2-ipip-always": "2026-11-20T08:45:00Z",
    "3-tunl0-up": "2026-11-20T09:05:00Z",
    "4-healthy": "2026-11-20T09:20:00Z",
}
N1, N2 = "192.168.122.96", "192.168.122.97"
CAL = "crd.projectcalico.org/v1"


def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)


def uid(*parts):
    k = "/".join(parts)
    return "%08x-%04x-4%03x-8%03x-%012x" % (h(k) % 2**32, h(k + "a") % 2**16, h(k + "b") % 2**12,
                                           h(k + "c") % 2**12, h(k + "d") % 2**48)


def meta(name, ns=None, rv="1000", labels=None, annotations=None, created=CREATED, **extra):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    m["uid"] = uid(ns or "", name)
    m["resourceVersion"] = rv
    m["creationTimestamp"] = created
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    m.update(extra)
    return m


def lst(kind, api, items, rv):
    return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv}, "items": items}


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def res(resource, kind, scope="Namespaced", short=None, singular=None, sub=None):
    r = {"resource": resource, "responseKind": {"group": "", "version": "", "kind": kind},
         "scope": scope, "singularResource": singular or kind.lower(), "verbs": VERBS}
    if short:
        r["shortNames"] = short
    if sub:
        r["subresources"] = sub
    return r


def group(name, version, resources):
    g = {"metadata": {"creationTimestamp": None},
         "versions": [{"version": version, "resources": resources, "freshness": "Current"}]}
    if name:
        g["metadata"]["name"] = name
    return g


def status_sub(kind):
    return {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": kind},
            "verbs": ["get", "patch", "update"]}


DISCOVERY_API = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": [
    group(None, "v1", [
        res("configmaps", "ConfigMap", short=["cm"]),
        res("endpoints", "Endpoints", short=["ep"], singular="endpoints"),
        res("namespaces", "Namespace", scope="Cluster", short=["ns"], sub=[status_sub("Namespace")]),
        res("nodes", "Node", scope="Cluster", short=["no"], sub=[status_sub("Node")]),
        res("pods", "Pod", short=["po"], sub=[{"subresource": "log", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": ["get"]}, status_sub("Pod")]),
        res("secrets", "Secret"),
        res("services", "Service", short=["svc"], sub=[status_sub("Service")]),
    ])]}
DISCOVERY_APIS = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": [
    group("apps", "v1", [res("daemonsets", "DaemonSet", short=["ds"], sub=[status_sub("DaemonSet")])]),
    group("discovery.k8s.io", "v1", [res("endpointslices", "EndpointSlice")]),
    group("networking.k8s.io", "v1", [res("networkpolicies", "NetworkPolicy", short=["netpol"])]),
    group("crd.projectcalico.org", "v1", [
        res("bgpconfigurations", "BGPConfiguration", scope="Cluster"),
        res("felixconfigurations", "FelixConfiguration", scope="Cluster"),
        res("ippools", "IPPool", scope="Cluster"),
        res("nodes", "Node", scope="Cluster"),
    ]),
]}
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
           "gitTreeState": "clean", "buildDate": "2025-04-22T16:03:29Z", "goVersion": "go1.23.8", "compiler": "gc",
           "platform": "linux/amd64"}

KP_CONF = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: 10.244.0.0/16
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ipvs
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
"""
KP_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://192.168.122.96:6443
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""

# kube-proxy container: a hand-written DaemonSet that, unlike kubeadm's, does not mount the
# host's /lib/modules, so the `modprobe -va ip_vs` the IPVS library runs inside the container
# never finds a module (see the README for why this matters in stage 1).
KP_CONTAINER = [{
    "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
    "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
    "image": "registry.k8s.io/kube-proxy:v1.32.4", "imagePullPolicy": "IfNotPresent", "name": "kube-proxy",
    "resources": {}, "securityContext": {"privileged": True},
    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    "volumeMounts": [{"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"},
                     {"mountPath": "/run/xtables.lock", "name": "xtables-lock"}]}]
KP_VOLUMES = [{"configMap": {"defaultMode": 420, "name": "kube-proxy"}, "name": "kube-proxy"},
              {"hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}, "name": "xtables-lock"}]
CN_CONTAINER = [{"image": "docker.io/calico/node:v3.29.1", "imagePullPolicy": "IfNotPresent", "name": "calico-node",
                 "resources": {"requests": {"cpu": "250m"}}, "securityContext": {"privileged": True},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]
WEB_CONTAINER = [{"image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "name": "nginx",
                  "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}], "resources": {},
                  "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]
DNS_CONTAINER = [{"args": ["-conf", "/etc/coredns/Corefile"], "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                  "imagePullPolicy": "IfNotPresent", "name": "coredns",
                  "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                            {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                            {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}],
                  "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                  "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}]


def klog_time(ts, us):
    # "2026-11-20T08:19:31Z" -> "1120 08:19:31.431560"
    return "%s%s %s.%06d" % (ts[5:7], ts[8:10], ts[11:19], us)


def pod(name, ns, node, ip, host_ip, labels, containers, started, host_network=False, cstatus=None,
        owner=None, volumes=None):
    spec = {"containers": containers, "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}
    if host_network:
        spec["hostNetwork"] = True
        spec["priority"] = 2000001000
        spec["priorityClassName"] = "system-node-critical"
    if volumes:
        spec["volumes"] = volumes
    ready = cstatus is None or cstatus.get("ready", True)
    cs = [{"containerID": "containerd://%064x" % h(name + started), "image": containers[0]["image"],
           "imageID": containers[0]["image"].split(":")[0] + "@sha256:%064x" % h(containers[0]["image"]),
           "lastState": {}, "name": containers[0]["name"], "ready": True, "restartCount": 0, "started": True,
           "state": {"running": {"startedAt": started}}}]
    if cstatus:
        cs[0].update(cstatus)
    not_ready = {"message": "containers with unready status: [%s]" % containers[0]["name"], "reason": "ContainersNotReady"}
    conds = [
        {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "PodReadyToStartContainers"},
        {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "Initialized"},
        dict({"lastProbeTime": None, "lastTransitionTime": started, "status": "True" if ready else "False", "type": "Ready"}, **({} if ready else not_ready)),
        dict({"lastProbeTime": None, "lastTransitionTime": started, "status": "True" if ready else "False", "type": "ContainersReady"}, **({} if ready else not_ready)),
        {"lastProbeTime": None, "lastTransitionTime": started, "status": "True", "type": "PodScheduled"}]
    extra = {}
    if owner:
        extra["generateName"] = owner[1]
        extra["ownerReferences"] = [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                                     "kind": owner[0], "name": owner[2], "uid": uid(ns, owner[2])}]
    return {"metadata": meta(name, ns, labels=labels, created=started, **extra), "spec": spec,
            "status": {"conditions": conds, "containerStatuses": cs, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                       "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                       "qosClass": "Burstable" if containers is DNS_CONTAINER else "BestEffort", "startTime": started}}


def stage_objects(stage):
    n = STAGES.index(stage) + 1
    at = AT[stage]
    ipip = "Always" if n <= 2 else "Never"
    tunnel_addr = n <= 3  # calico-node still advertises the tunnel address until it is restarted
    w = {}

    # --- Services, Endpoints, EndpointSlices -------------------------------------------------
    web_applied = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"annotations": {}, "name": "web", "namespace": "default"},
                              "spec": {"ports": [{"name": "http", "nodePort": 30081, "port": 80, "targetPort": 8080}],
                                       "selector": {"app": "web"}, "type": "NodePort"}}, separators=(",", ":")) + "\n"
    svc_kubernetes = {"metadata": meta("kubernetes", "default", labels={"component": "apiserver", "provider": "kubernetes"}),
                      "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "internalTrafficPolicy": "Cluster",
                               "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                               "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                               "sessionAffinity": "None", "type": "ClusterIP"}, "status": {"loadBalancer": {}}}
    svc_web = {"metadata": meta("web", "default", rv="1450", annotations={"kubectl.kubernetes.io/last-applied-configuration": web_applied}),
               "spec": {"clusterIP": "10.96.100.50", "clusterIPs": ["10.96.100.50"], "externalTrafficPolicy": "Cluster",
                        "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                        "ports": [{"name": "http", "nodePort": 30081, "port": 80, "protocol": "TCP", "targetPort": 8080}],
                        "selector": {"app": "web"}, "sessionAffinity": "None", "type": "NodePort"},
               "status": {"loadBalancer": {}}}
    svc_dns = {"metadata": meta("kube-dns", "kube-system", labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
                                annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}),
               "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "internalTrafficPolicy": "Cluster",
                        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                        "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                  {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                                  {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
                        "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "type": "ClusterIP"},
               "status": {"loadBalancer": {}}}
    w["api/v1/services.json"] = lst("ServiceList", "v1", [svc_kubernetes, svc_web, svc_dns], "2%03d" % n)

    web1, web2, dns1 = "web-7c9d6b5f48-k2x9p", "web-7c9d6b5f48-q7m4n", "coredns-668d6bf9bc-x5r2t"

    def ref(name, ns="default"):
        return {"kind": "Pod", "name": name, "namespace": ns, "uid": uid(ns, name)}
    w["api/v1/endpoints.json"] = lst("EndpointsList", "v1", [
        {"metadata": meta("kubernetes", "default", labels={"endpointslice.kubernetes.io/skip-mirror": "true"}),
         "subsets": [{"addresses": [{"ip": N1}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]},
        {"metadata": meta("web", "default", rv="1460", annotations={"endpoints.kubernetes.io/last-change-trigger-time": "2026-11-20T08:05:00Z"}),
         "subsets": [{"addresses": [{"ip": "10.244.0.5", "nodeName": "node1", "targetRef": ref(web1)},
                                    {"ip": "10.244.1.3", "nodeName": "node2", "targetRef": ref(web2)}],
                      "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]},
        {"metadata": meta("kube-dns", "kube-system", labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}),
         "subsets": [{"addresses": [{"ip": "10.244.1.2", "nodeName": "node2", "targetRef": ref(dns1, "kube-system")}],
                      "ports": [{"name": "dns-tcp", "port": 53, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"},
                                {"name": "metrics", "port": 9153, "protocol": "TCP"}]}]},
    ], "2%03d" % n)
    cond = {"ready": True, "serving": True, "terminating": False}

    def slice_meta(name, svc, ns, labels=None):
        l = {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io", "kubernetes.io/service-name": svc}
        l.update(labels or {})
        return meta(name, ns, labels=l, generateName=svc + "-",
                    ownerReferences=[{"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True, "kind": "Service",
                                      "name": svc, "uid": uid(ns, svc)}])
    w["apis/discovery.k8s.io/v1/endpointslices.json"] = lst("EndpointSliceList", "discovery.k8s.io/v1", [
        {"metadata": meta("kubernetes", "default", labels={"kubernetes.io/service-name": "kubernetes"}), "addressType": "IPv4",
         "endpoints": [{"addresses": [N1], "conditions": {"ready": True}}],
         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
        {"metadata": slice_meta("web-h8v4c", "web", "default"), "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.0.5"], "conditions": cond, "nodeName": "node1", "targetRef": ref(web1)},
                       {"addresses": ["10.244.1.3"], "conditions": cond, "nodeName": "node2", "targetRef": ref(web2)}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"metadata": slice_meta("kube-dns-9wq2s", "kube-dns", "kube-system", {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}),
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.244.1.2"], "conditions": cond, "nodeName": "node2", "targetRef": ref(dns1, "kube-system")}],
         "ports": [{"name": "dns-tcp", "port": 53, "protocol": "TCP"}, {"name": "dns", "port": 53, "protocol": "UDP"},
                   {"name": "metrics", "port": 9153, "protocol": "TCP"}]},
    ], "2%03d" % n)

    # --- Nodes -------------------------------------------------------------------------------
    def node(name, ip, podcidr, tunl):
        ann = {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
               "node.alpha.kubernetes.io/ttl": "0", "projectcalico.org/IPv4Address": ip + "/24",
               "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        if tunnel_addr:
            ann["projectcalico.org/IPv4IPIPTunnelAddr"] = tunl
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if name == "node1":
            labels["node-role.kubernetes.io/control-plane"] = ""
        return {"metadata": meta(name, labels=labels, annotations=ann),
                "spec": {"podCIDR": podcidr, "podCIDRs": [podcidr]},
                "status": {"addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
                           "allocatable": {"cpu": "2", "memory": "3902524Ki", "pods": "110"},
                           "capacity": {"cpu": "2", "memory": "4004924Ki", "pods": "110"},
                           "conditions": [
                               {"lastHeartbeatTime": at, "lastTransitionTime": CREATED, "message": "Calico is running on this node", "reason": "CalicoIsUp", "status": "False", "type": "NetworkUnavailable"},
                               {"lastHeartbeatTime": at, "lastTransitionTime": CREATED, "message": "kubelet is posting ready status", "reason": "KubeletReady", "status": "True", "type": "Ready"}],
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                           "nodeInfo": {"architecture": "amd64", "bootID": uid("boot", name), "containerRuntimeVersion": "containerd://1.7.24",
                                        "kernelVersion": KVER, "kubeProxyVersion": "v1.32.4", "kubeletVersion": "v1.32.4",
                                        "machineID": "%032x" % h("machine" + name), "operatingSystem": "linux",
                                        "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": uid("system", name)}}}
    w["api/v1/nodes.json"] = lst("NodeList", "v1", [node("node1", N1, "10.244.0.0/24", "10.244.0.1"),
                                                    node("node2", N2, "10.244.1.0/24", "10.244.1.1")], "2%03d" % n)

    # --- Pods and logs -----------------------------------------------------------------------
    logs = {}
    # kube-proxy: crashing in stage 1 (both nodes, same cause), replaced by `kubectl -n
    # kube-system rollout restart ds/kube-proxy` after the modules were loaded (stage 2 on).
    if n == 1:
        kp_hash, kp_gen = "6d7b9c5f84", "1"
        kp_names = {"node1": "kube-proxy-8wzqj", "node2": "kube-proxy-t5d6r"}
        kp_started = "2026-11-20T08:00:20Z"
    else:
        kp_hash, kp_gen = "5f8c7d9b66", "2"
        kp_names = {"node1": "kube-proxy-m4hxk", "node2": "kube-proxy-z9c2v"}
        kp_started = "2026-11-20T08:41:12Z"
    kp_pods = []
    for nd, ip in [("node1", N1), ("node2", N2)]:
        name = kp_names[nd]
        cstatus = None
        if n == 1:
            last = "2026-11-20T08:19:31Z"
            cstatus = {"ready": False, "restartCount": 7, "started": False,
                       "lastState": {"terminated": {"containerID": "containerd://%064x" % h(name + "7"), "exitCode": 1,
                                                    "finishedAt": last, "reason": "Error", "startedAt": last}},
                       "state": {"waiting": {"message": "back-off 5m0s restarting failed container=kube-proxy pod=%s_kube-system(%s)" % (name, uid("kube-system", name)),
                                             "reason": "CrashLoopBackOff"}}}
        kp_pods.append(pod(name, "kube-system", nd, ip, ip, {"controller-revision-hash": kp_hash, "k8s-app": "kube-proxy", "pod-template-generation": kp_gen},
                           KP_CONTAINER, kp_started, True, cstatus, ("DaemonSet", "kube-proxy-", "kube-proxy"), KP_VOLUMES))
        if n == 1:
            t = "2026-11-20T08:19:31Z"
            logs[name] = "".join([
                'I%s       1 server.go:698] "Successfully retrieved node IP(s)" IPs=["%s"]\n' % (klog_time(t, 402117), ip),
                'I%s       1 server.go:256] "kube-proxy running in dual-stack mode" primary ipFamily="IPv4"\n' % klog_time(t, 404911),
                'time="%s" level=warning msg="Running modprobe ip_vs failed with message: `modprobe: WARNING: Module ip_vs not found in directory /lib/modules/%s`, error: exit status 1"\n' % (t, KVER),
                'time="%s" level=error msg="Could not get ipvs family information from the kernel. It is possible that ipvs is not enabled in your kernel. Native loadbalancing will not work until this is fixed."\n' % t,
                'I%s       1 proxier.go:646] "Dummy VS not created" scheduler="rr"\n' % klog_time(t, 431560),
                'E%s       1 server.go:558] "Error running ProxyServer" err="can\'t use the IPVS proxier: Ipvs not supported"\n' % klog_time(t, 431602),
                'E%s       1 run.go:74] "command failed" err="can\'t use the IPVS proxier: Ipvs not supported"\n' % klog_time(t, 431651),
            ])
        else:
            t = kp_started
            logs[name] = "".join([
                'I%s       1 server.go:698] "Successfully retrieved node IP(s)" IPs=["%s"]\n' % (klog_time(t, 220418), ip),
                'I%s       1 server.go:256] "kube-proxy running in dual-stack mode" primary ipFamily="IPv4"\n' % klog_time(t, 223170),
                'time="%s" level=warning msg="Running modprobe ip_vs failed with message: `modprobe: WARNING: Module ip_vs not found in directory /lib/modules/%s`, error: exit status 1"\n' % (t, KVER),
                'I%s       1 server_linux.go:169] "Using ipvs Proxier"\n' % klog_time(t, 251390),
                'I%s       1 proxier.go:355] "IPVS scheduler not specified, use rr by default" ipFamily="IPv4"\n' % klog_time(t, 253077),
                'I%s       1 proxier.go:355] "IPVS scheduler not specified, use rr by default" ipFamily="IPv6"\n' % klog_time(t, 253260),
                'I%s       1 server.go:497] "Version info" version="v1.32.4"\n' % klog_time(t, 253911),
                'I%s       1 server.go:499] "Golang settings" GOGC="" GOMAXPROCS="" GOTRACEBACK=""\n' % klog_time(t, 253932),
                'I%s       1 config.go:199] "Starting service config controller"\n' % klog_time(t, 256104),
                'I%s       1 config.go:105] "Starting endpoint slice config controller"\n' % klog_time(t, 256160),
                'I%s       1 shared_informer.go:320] Caches are synced for service config\n' % klog_time(t, 356392),
                'I%s       1 shared_informer.go:320] Caches are synced for endpoint slice config\n' % klog_time(t, 356418),
            ])
    # calico-node: restarted only in stage 4 (after the pool change), when it dropped the tunnel.
    if n <= 3:
        cn_names = {"node1": "calico-node-6jq7f", "node2": "calico-node-rb8ws"}
        cn_started, cn_hash = "2026-11-20T08:00:25Z", "7b6f8d9c54"
    else:
        cn_names = {"node1": "calico-node-hx2lp", "node2": "calico-node-w7k9d"}
        cn_started, cn_hash = "2026-11-20T09:12:40Z", "68c5b7f9d4"
    cn_pods = []
    for nd, ip in [("node1", N1), ("node2", N2)]:
        name = cn_names[nd]
        cn_pods.append(pod(name, "kube-system", nd, ip, ip, {"controller-revision-hash": cn_hash, "k8s-app": "calico-node", "pod-template-generation": "1"},
                           CN_CONTAINER, cn_started, True, None, ("DaemonSet", "calico-node-", "calico-node")))
        t = AT[stage].replace("T", " ").rstrip("Z")
        logs[name] = ('%s.412 [INFO][71] felix/int_dataplane.go 2195: Received *proto.IPAMPoolUpdate update from calculation graph '
                      'id="pool-10-244" pool=&proto.IPAMPool{Cidr:"10.244.0.0/16", Masquerade:true, IpipMode:"%s", VxlanMode:"Never"}\n') % (t, ipip)
    w1 = pod(web1, "default", "node1", "10.244.0.5", N1, {"app": "web", "pod-template-hash": "7c9d6b5f48"}, WEB_CONTAINER,
             "2026-11-20T08:05:00Z", owner=("ReplicaSet", "web-7c9d6b5f48-", "web-7c9d6b5f48"))
    w2 = pod(web2, "default", "node2", "10.244.1.3", N2, {"app": "web", "pod-template-hash": "7c9d6b5f48"}, WEB_CONTAINER,
             "2026-11-20T08:05:00Z", owner=("ReplicaSet", "web-7c9d6b5f48-", "web-7c9d6b5f48"))
    d1 = pod(dns1, "kube-system", "node2", "10.244.1.2", N2, {"k8s-app": "kube-dns", "pod-template-hash": "668d6bf9bc"}, DNS_CONTAINER,
             "2026-11-20T08:01:00Z", owner=("ReplicaSet", "coredns-668d6bf9bc-", "coredns-668d6bf9bc"))
    ks = cn_pods + [d1] + kp_pods
    w["api/v1/pods.json"] = lst("PodList", "v1", [w1, w2] + ks, "2%03d" % n)
    w["api/v1/namespaces/kube-system/pods.json"] = lst("PodList", "v1", ks, "2%03d" % n)
    w["api/v1/namespaces/calico-system/pods.json"] = lst("PodList", "v1", [], "2%03d" % n)
    w["api/v1/namespaces/kube-flannel/pods.json"] = lst("PodList", "v1", [], "2%03d" % n)
    for name, text in logs.items():
        w["api/v1/namespaces/kube-system/pods/%s.log" % name] = text

    # --- kube-proxy ConfigMap and DaemonSet --------------------------------------------------
    w["api/v1/namespaces/kube-system/configmaps/kube-proxy.json"] = {
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": meta("kube-proxy", "kube-system", labels={"app": "kube-proxy"}),
        "data": {"config.conf": KP_CONF, "kubeconfig.conf": KP_KUBECONFIG}}
    tmpl_meta = {"creationTimestamp": None, "labels": {"k8s-app": "kube-proxy"}}
    if n >= 2:
        tmpl_meta["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2026-11-20T08:41:05Z"}
    ready = 0 if n == 1 else 2
    ds_status = {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": ready, "numberMisscheduled": 0,
                 "numberReady": ready, "observedGeneration": int(kp_gen), "updatedNumberScheduled": 2}
    if n == 1:
        ds_status["numberUnavailable"] = 2
    w["apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy.json"] = {
        "kind": "DaemonSet", "apiVersion": "apps/v1",
        "metadata": meta("kube-proxy", "kube-system", labels={"k8s-app": "kube-proxy"},
                         annotations={"deprecated.daemonset.template.generation": kp_gen}, generation=int(kp_gen)),
        "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                 "template": {"metadata": tmpl_meta,
                              "spec": {"containers": KP_CONTAINER, "dnsPolicy": "ClusterFirst", "hostNetwork": True,
                                       "nodeSelector": {"kubernetes.io/os": "linux"}, "priorityClassName": "system-node-critical",
                                       "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
                                       "serviceAccount": "kube-proxy", "serviceAccountName": "kube-proxy",
                                       "terminationGracePeriodSeconds": 30, "tolerations": [{"operator": "Exists"}],
                                       "volumes": KP_VOLUMES}},
                 "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}},
        "status": ds_status}

    w["apis/networking.k8s.io/v1/networkpolicies.json"] = lst("NetworkPolicyList", "networking.k8s.io/v1", [], "2%03d" % n)

    # --- Calico ------------------------------------------------------------------------------
    pool_meta = meta("pool-10-244", rv="1200" if n <= 2 else "3105", generation=1 if n <= 2 else 2,
                     annotations={"projectcalico.org/metadata": "{\"creationTimestamp\":null}"})
    w["apis/crd.projectcalico.org/v1/ippools.json"] = lst("IPPoolList", CAL, [
        {"apiVersion": CAL, "kind": "IPPool", "metadata": pool_meta,
         "spec": {"allowedUses": ["Workload", "Tunnel"], "blockSize": 26, "cidr": "10.244.0.0/16", "ipipMode": ipip,
                  "natOutgoing": True, "nodeSelector": "all()", "vxlanMode": "Never"}}], "2%03d" % n)
    w["apis/crd.projectcalico.org/v1/felixconfigurations.json"] = lst("FelixConfigurationList", CAL, [
        {"apiVersion": CAL, "kind": "FelixConfiguration", "metadata": meta("default", generation=1),
         "spec": {"bpfConnectTimeLoadBalancing": "TCP", "bpfHostNetworkedNATWithoutCTLB": "Enabled", "floatingIPs": "Disabled",
                  "logSeverityScreen": "Info", "reportingInterval": "0s"}},
        {"apiVersion": CAL, "kind": "FelixConfiguration", "metadata": meta("node.node1", generation=1),
         "spec": {"defaultEndpointToHostAction": "Return"}},
        {"apiVersion": CAL, "kind": "FelixConfiguration", "metadata": meta("node.node2", generation=1),
         "spec": {"defaultEndpointToHostAction": "Return"}}], "2%03d" % n)
    w["apis/crd.projectcalico.org/v1/bgpconfigurations.json"] = lst("BGPConfigurationList", CAL, [], "2%03d" % n)

    def cnode(name, ip, tunl):
        bgp = {"ipv4Address": ip + "/24"}
        if tunnel_addr:
            bgp["ipv4IPIPTunnelAddr"] = tunl
        return {"apiVersion": CAL, "kind": "Node", "metadata": meta(name, generation=1),
                "spec": {"addresses": [{"address": ip + "/24", "type": "CalicoNodeIP"}, {"address": ip, "type": "InternalIP"}],
                         "bgp": bgp, "orchRefs": [{"nodeName": name, "orchestrator": "k8s"}]},
                "status": {}}
    w["apis/crd.projectcalico.org/v1/nodes.json"] = lst("NodeList", CAL, [cnode("node1", N1, "10.244.0.1"),
                                                                          cnode("node2", N2, "10.244.1.1")], "2%03d" % n)
    return w


def write(root, files):
    for path, obj in files.items():
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            if isinstance(obj, str):
                f.write(obj)
            else:
                json.dump(obj, f, indent=2)
                f.write("\n")


def main():
    for stage in STAGES:
        root = os.path.join(HERE, stage)
        shutil.rmtree(root, ignore_errors=True)
        files = stage_objects(stage)
        files["version.json"] = VERSION
        files["api.json"] = DISCOVERY_API
        files["apis.json"] = DISCOVERY_APIS
        write(root, files)
        print("wrote", root, len(files), "files", file=sys.stderr)


if __name__ == "__main__":
    main()
