import json, os, sys, hashlib
def h(s): return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)
root = sys.argv[1]
TS = "2026-11-20T08:00:00Z"
def w(path, obj, raw=False):
    p = os.path.join(root, path); os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        if raw: f.write(obj)
        else: json.dump(obj, f, indent=2); f.write("\n")
def meta(name, ns=None, uid="", labels=None, annotations=None, rv="1000", extra=None):
    m = {"name": name}
    if ns: m["namespace"] = ns
    m["uid"] = uid or ("%08x-0000-4000-8000-%012x" % (h(name) % 2**32, h(ns or "") % 2**48))
    m["resourceVersion"] = rv
    m["creationTimestamp"] = TS
    if labels: m["labels"] = labels
    if annotations: m["annotations"] = annotations
    if extra: m.update(extra)
    return m
def lst(kind, api, items, rv="2000"):
    return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv}, "items": items}

w("version.json", {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
  "gitTreeState": "clean", "buildDate": "2025-04-22T16:03:29Z", "goVersion": "go1.23.8", "compiler": "gc", "platform": "linux/amd64"})

VERBS = ["create","delete","deletecollection","get","list","patch","update","watch"]
def res(resource, kind, scope="Namespaced", short=None, singular=None, group="", version="", sub=None):
    r = {"resource": resource, "responseKind": {"group": "", "version": "", "kind": kind}, "scope": scope,
         "singularResource": singular or kind.lower(), "verbs": VERBS}
    if short: r["shortNames"] = short
    if sub: r["subresources"] = sub
    return r
def group(name, version, resources):
    g = {"metadata": {"creationTimestamp": None}, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]}
    if name: g["metadata"]["name"] = name
    return g
status_sub = lambda kind: {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": kind}, "verbs": ["get","patch","update"]}
w("api.json", {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": [
  group(None, "v1", [
    res("configmaps", "ConfigMap", short=["cm"]),
    res("endpoints", "Endpoints", short=["ep"], singular="endpoints"),
    res("namespaces", "Namespace", scope="Cluster", short=["ns"], sub=[status_sub("Namespace")]),
    res("nodes", "Node", scope="Cluster", short=["no"], sub=[status_sub("Node")]),
    res("pods", "Pod", short=["po"], sub=[{"subresource": "log", "responseKind": {"group": "", "version": "", "kind": "Pod"}, "verbs": ["get"]}, status_sub("Pod")]),
    res("secrets", "Secret"),
    res("services", "Service", short=["svc"], sub=[status_sub("Service")]),
  ])]})
w("apis.json", {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": [
  group("apps", "v1", [res("daemonsets", "DaemonSet", short=["ds"], sub=[status_sub("DaemonSet")])]),
  group("discovery.k8s.io", "v1", [res("endpointslices", "EndpointSlice")]),
  group("networking.k8s.io", "v1", [res("networkpolicies", "NetworkPolicy", short=["netpol"])]),
  group("crd.projectcalico.org", "v1", [
    res("bgpconfigurations", "BGPConfiguration", scope="Cluster"),
    res("felixconfigurations", "FelixConfiguration", scope="Cluster"),
    res("ippools", "IPPool", scope="Cluster"),
    res("nodes", "Node", scope="Cluster"),
  ]),
]})

web_applied = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"annotations": {}, "name": "web", "namespace": "default"},
  "spec": {"ports": [{"name": "http", "nodePort": 30081, "port": 80, "targetPort": "http"}], "selector": {"app": "web"}, "type": "NodePort"}}, separators=(",", ":")) + "\n"
managed = [{"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
  "f:spec": {"f:externalTrafficPolicy": {}, "f:ports": {".": {}, "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:nodePort": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}}, "f:selector": {}, "f:type": {}}},
  "manager": "kubectl-client-side-apply", "operation": "Update", "time": TS}]
svc_kubernetes = {"metadata": meta("kubernetes", "default", labels={"component": "apiserver", "provider": "kubernetes"}),
  "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
           "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}], "sessionAffinity": "None", "type": "ClusterIP"},
  "status": {"loadBalancer": {}}}
svc_web = {"metadata": meta("web", "default", annotations={"kubectl.kubernetes.io/last-applied-configuration": web_applied}, extra={"managedFields": managed}),
  "spec": {"clusterIP": "10.96.120.15", "clusterIPs": ["10.96.120.15"], "externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
           "ports": [{"name": "http", "nodePort": 30081, "port": 80, "protocol": "TCP", "targetPort": "http"}], "selector": {"app": "web"}, "sessionAffinity": "None", "type": "NodePort"},
  "status": {"loadBalancer": {}}}
svc_dns = {"metadata": meta("kube-dns", "kube-system", labels={"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}, annotations={"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}),
  "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
           "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}, {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}, {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}],
           "selector": {"k8s-app": "kube-dns"}, "sessionAffinity": "None", "type": "ClusterIP"},
  "status": {"loadBalancer": {}}}
w("api/v1/services.json", lst("ServiceList", "v1", [svc_kubernetes, svc_web, svc_dns]))

def podref(name, ns="default"): return {"kind": "Pod", "namespace": ns, "name": name, "uid": "%08x-1111-4000-8000-000000000000" % (h(name) % 2**32)}
w("api/v1/endpoints.json", lst("EndpointsList", "v1", [
  {"metadata": meta("kubernetes", "default", labels={"endpointslice.kubernetes.io/skip-mirror": "true"}), "subsets": [{"addresses": [{"ip": "10.0.0.11"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]},
  {"metadata": meta("web", "default", annotations={"endpoints.kubernetes.io/last-change-trigger-time": TS}), "subsets": [{"addresses": [
      {"ip": "10.244.104.2", "nodeName": "node2", "targetRef": podref("web-5d9c7b8f6d-fghij")},
      {"ip": "10.244.166.130", "nodeName": "node1", "targetRef": podref("web-5d9c7b8f6d-abcde")}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]},
]))
cond = {"ready": True, "serving": True, "terminating": False}
w("apis/discovery.k8s.io/v1/endpointslices.json", lst("EndpointSliceList", "discovery.k8s.io/v1", [
  {"metadata": meta("kubernetes", "default", labels={"kubernetes.io/service-name": "kubernetes"}), "addressType": "IPv4",
   "endpoints": [{"addresses": ["10.0.0.11"], "conditions": {"ready": True}}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]},
  {"metadata": meta("web-x7k2p", "default", labels={"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io", "kubernetes.io/service-name": "web"},
                    annotations={"endpoints.kubernetes.io/last-change-trigger-time": TS},
                    extra={"generateName": "web-", "ownerReferences": [{"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True, "kind": "Service", "name": "web", "uid": svc_web["metadata"]["uid"]}]}),
   "addressType": "IPv4",
   "endpoints": [{"addresses": ["10.244.166.130"], "conditions": cond, "nodeName": "node1", "targetRef": podref("web-5d9c7b8f6d-abcde")},
                 {"addresses": ["10.244.104.2"], "conditions": cond, "nodeName": "node2", "targetRef": podref("web-5d9c7b8f6d-fghij")}],
   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
]))

def node(name, ip, podcidr, tunl):
    return {"metadata": meta(name, labels={"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        annotations={"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock", "node.alpha.kubernetes.io/ttl": "0",
                     "projectcalico.org/IPv4Address": ip + "/24", "projectcalico.org/IPv4IPIPTunnelAddr": tunl, "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
      "spec": {"podCIDR": podcidr, "podCIDRs": [podcidr]},
      "status": {"addresses": [{"address": ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
        "allocatable": {"cpu": "2", "memory": "3902524Ki", "pods": "110"}, "capacity": {"cpu": "2", "memory": "4004924Ki", "pods": "110"},
        "conditions": [
          {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "Calico is running on this node", "reason": "CalicoIsUp", "status": "False", "type": "NetworkUnavailable"},
          {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "kubelet is posting ready status", "reason": "KubeletReady", "status": "True", "type": "Ready"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"architecture": "amd64", "bootID": "3f0c1e52-7d1a-4c36-9b43-2f0a8c2d9e11", "containerRuntimeVersion": "containerd://1.7.24", "kernelVersion": "6.1.0-27-amd64",
          "kubeProxyVersion": "v1.32.4", "kubeletVersion": "v1.32.4", "machineID": "0c3f", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": "0c3f"}}}
w("api/v1/nodes.json", lst("NodeList", "v1", [node("node1", "10.0.0.11", "10.244.0.0/24", "10.244.166.128"), node("node2", "10.0.0.12", "10.244.1.0/24", "10.244.104.0")]))

def pod(name, ns, nodename, podip, hostip, labels, containers, host_network=False, ready=True):
    spec = {"containers": containers, "dnsPolicy": "ClusterFirst", "nodeName": nodename, "restartPolicy": "Always", "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30}
    if host_network: spec["hostNetwork"] = True
    return {"metadata": meta(name, ns, labels=labels),
      "spec": spec,
      "status": {"conditions": [
          {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True", "type": "PodReadyToStartContainers"},
          {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True", "type": "Initialized"},
          {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True" if ready else "False", "type": "Ready"},
          {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True" if ready else "False", "type": "ContainersReady"},
          {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True", "type": "PodScheduled"}],
        "hostIP": hostip, "hostIPs": [{"ip": hostip}], "phase": "Running", "podIP": podip, "podIPs": [{"ip": podip}], "qosClass": "BestEffort", "startTime": TS}}
web_c = [{"image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "name": "nginx", "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}], "resources": {}}]
kp_c = [{"command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
         "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
         "image": "registry.k8s.io/kube-proxy:v1.32.4", "imagePullPolicy": "IfNotPresent", "name": "kube-proxy", "resources": {}, "securityContext": {"privileged": True}}]
cn_c = [{"image": "docker.io/calico/node:v3.29.1", "imagePullPolicy": "IfNotPresent", "name": "calico-node", "resources": {"requests": {"cpu": "250m"}}, "securityContext": {"privileged": True}}]
kp1 = pod("kube-proxy-4xk8p", "kube-system", "node1", "10.0.0.11", "10.0.0.11", {"controller-revision-hash": "7c6d9f8b5", "k8s-app": "kube-proxy", "pod-template-generation": "1"}, kp_c, True)
kp2 = pod("kube-proxy-9bq2m", "kube-system", "node2", "10.0.0.12", "10.0.0.12", {"controller-revision-hash": "7c6d9f8b5", "k8s-app": "kube-proxy", "pod-template-generation": "1"}, kp_c, True)
cn1 = pod("calico-node-h7t5w", "kube-system", "node1", "10.0.0.11", "10.0.0.11", {"controller-revision-hash": "5b8f7c9d6", "k8s-app": "calico-node", "pod-template-generation": "1"}, cn_c, True)
w1 = pod("web-5d9c7b8f6d-abcde", "default", "node1", "10.244.166.130", "10.0.0.11", {"app": "web", "pod-template-hash": "5d9c7b8f6d"}, web_c)
w2 = pod("web-5d9c7b8f6d-fghij", "default", "node2", "10.244.104.2", "10.0.0.12", {"app": "web", "pod-template-hash": "5d9c7b8f6d"}, web_c)
w("api/v1/pods.json", lst("PodList", "v1", [w1, w2, cn1, kp1, kp2]))
w("api/v1/namespaces/kube-system/pods.json", lst("PodList", "v1", [cn1, kp1, kp2]))
w("api/v1/namespaces/calico-system/pods.json", lst("PodList", "v1", []))
w("api/v1/namespaces/kube-flannel/pods.json", lst("PodList", "v1", []))
w("api/v1/namespaces/kube-system/pods/kube-proxy-4xk8p.log",
  'I1120 08:00:05.118204       1 server_linux.go:66] "Using iptables proxy"\n'
  'I1120 08:00:05.120311       1 server.go:698] "Successfully retrieved node IP(s)" IPs=["10.0.0.11"]\n'
  'E1120 08:00:05.131772       1 server_linux.go:234] "Can\'t use the IPVS proxier" err="IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"\n', raw=True)
w("api/v1/namespaces/kube-system/pods/kube-proxy-9bq2m.log", 'I1120 08:00:06.001002       1 server_linux.go:66] "Using ipvs Proxier"\n', raw=True)
w("api/v1/namespaces/kube-system/pods/calico-node-h7t5w.log", '2026-11-20 08:00:09.412 [INFO][71] felix/int_dataplane.go 2195: Received *proto.IPAMPoolUpdate update from calculation graph id="default-ipv4-ippool" pool=&proto.IPAMPool{Cidr:"10.244.0.0/16", Masquerade:true, IpipMode:"Always", VxlanMode:"Never"}\n', raw=True)

kp_conf = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
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
kp_kubeconfig = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://10.0.0.11:6443
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
cm = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta("kube-proxy", "kube-system", labels={"app": "kube-proxy"}, annotations={"kubeadm.kubernetes.io/component-config.hash": "sha256:7d0d7e2f9a0c3b1e5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"}),
      "data": {"config.conf": kp_conf, "kubeconfig.conf": kp_kubeconfig}}
w("api/v1/namespaces/kube-system/configmaps/kube-proxy.json", cm)
ds = {"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": meta("kube-proxy", "kube-system", labels={"k8s-app": "kube-proxy"}, annotations={"deprecated.daemonset.template.generation": "1"}, extra={"generation": 1}),
  "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
    "template": {"metadata": {"creationTimestamp": None, "labels": {"k8s-app": "kube-proxy"}},
      "spec": {"containers": kp_c, "dnsPolicy": "ClusterFirst", "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"}, "priorityClassName": "system-node-critical",
               "restartPolicy": "Always", "serviceAccountName": "kube-proxy", "tolerations": [{"operator": "Exists"}]}},
    "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}},
  "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberAvailable": 2, "numberMisscheduled": 0, "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2}}
w("apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy.json", ds)

w("apis/networking.k8s.io/v1/networkpolicies.json", lst("NetworkPolicyList", "networking.k8s.io/v1", [
  {"metadata": meta("allow-web", "default", extra={"generation": 1}), "spec": {"ingress": [{"ports": [{"port": 8080, "protocol": "TCP"}]}], "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}}]))

cal = "crd.projectcalico.org/v1"
w("apis/crd.projectcalico.org/v1/ippools.json", lst("IPPoolList", cal, [
  {"apiVersion": cal, "kind": "IPPool", "metadata": meta("default-ipv4-ippool", extra={"generation": 1, "annotations": {"projectcalico.org/metadata": "{\"creationTimestamp\":null}"}}),
   "spec": {"allowedUses": ["Workload", "Tunnel"], "blockSize": 26, "cidr": "10.244.0.0/16", "ipipMode": "Always", "natOutgoing": True, "nodeSelector": "all()", "vxlanMode": "Never"}}]))
w("apis/crd.projectcalico.org/v1/felixconfigurations.json", lst("FelixConfigurationList", cal, [
  {"apiVersion": cal, "kind": "FelixConfiguration", "metadata": meta("default", extra={"generation": 1}),
   "spec": {"bpfConnectTimeLoadBalancing": "TCP", "bpfHostNetworkedNATWithoutCTLB": "Enabled", "floatingIPs": "Disabled", "logSeverityScreen": "Info", "reportingInterval": "0s"}}]))
w("apis/crd.projectcalico.org/v1/bgpconfigurations.json", lst("BGPConfigurationList", cal, []))
def cnode(name, ip, tunl):
    return {"apiVersion": cal, "kind": "Node", "metadata": meta(name, extra={"generation": 1}),
      "spec": {"addresses": [{"address": ip + "/24", "type": "CalicoNodeIP"}, {"address": ip, "type": "InternalIP"}],
               "bgp": {"ipv4Address": ip + "/24", "ipv4IPIPTunnelAddr": tunl}, "orchRefs": [{"nodeName": name, "orchestrator": "k8s"}]},
      "status": {"podCIDRs": ["10.244.0.0/24"]}}
w("apis/crd.projectcalico.org/v1/nodes.json", lst("NodeList", cal, [cnode("node1", "10.0.0.11", "10.244.166.128"), cnode("node2", "10.0.0.12", "10.244.104.0")]))
