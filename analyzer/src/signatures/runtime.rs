//! The container runtime and the CNI library on the Service path: `kubectl exec` failures
//! (a probe that never ran because the tool is missing from the image), shim task creation,
//! and CNI plugin failures as containerd reports them through libcni, with the reference
//! plugins' bridge errors.

use super::{Component, Part, Signature};
use crate::observe::{Certainty, FactKind};

pub const SIGNATURES: &[Signature] = &[
    Signature {
        id: "runc-exec-failed",
        component: Component::Runc,
        versions: "runc v1.0.0-rc – (containerd/docker wrap it as `OCI runtime exec failed`)",
        sources: &[
            "https://github.com/containerd/containerd/blob/v1.7.0/pkg/process/utils.go",
            "https://github.com/opencontainers/runc/blob/v1.1.0/libcontainer/init_linux.go",
        ],
        pattern: r"OCI runtime exec failed: (?P<err>.+)",
        kind: FactKind::RuntimeError,
        subject: Part::Fixed("exec"),
        value: Part::Capture("err"),
        certainty: Certainty::Tool,
        catalog: &[],
        examples: &[
            r#"OCI runtime exec failed: exec failed: unable to start container process: exec: "curl": executable file not found in $PATH: unknown"#,
            r#"OCI runtime exec failed: exec failed: container_linux.go:349: starting container process caused "exec: \"nc\": executable file not found in $PATH": unknown"#,
            "error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \"5b2c\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"ping\": executable file not found in $PATH: unknown",
        ],
    },
    Signature {
        id: "runtime-exec-binary-missing",
        component: Component::Runc,
        versions: "runc v1.0.0-rc –",
        sources: &["https://github.com/opencontainers/runc/blob/v1.1.0/libcontainer/standard_init_linux.go"],
        pattern: r#"exec: \\?"(?P<bin>[^"\\]+)\\?": executable file not found in \$PATH"#,
        kind: FactKind::RuntimeError,
        subject: Part::Capture("bin"),
        value: Part::Fixed("executable not found in the container (the probe did not run)"),
        certainty: Certainty::Tool,
        catalog: &[],
        examples: &[
            r#"OCI runtime exec failed: exec failed: unable to start container process: exec: "curl": executable file not found in $PATH: unknown"#,
            r#"OCI runtime exec failed: exec failed: container_linux.go:349: starting container process caused "exec: \"nc\": executable file not found in $PATH": unknown"#,
        ],
    },
    Signature {
        id: "containerd-shim-task-failed",
        component: Component::Containerd,
        versions: "containerd v1.5.0 –",
        sources: &["https://github.com/containerd/containerd/blob/v1.7.0/runtime/v2/manager.go"],
        pattern: r"failed to create shim task: (?P<err>.+)",
        kind: FactKind::RuntimeError,
        subject: Part::Fixed("containerd"),
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &[],
        examples: &[
            r#"Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting "/lib/modules" to rootfs at "/lib/modules": stat /lib/modules: no such file or directory: unknown"#,
        ],
    },
    Signature {
        id: "cni-plugin-failed",
        component: Component::Containerd,
        versions: "libcni v1.0.0 – (containerd CRI, cri-o)",
        sources: &["https://github.com/containernetworking/plugins/blob/v1.9.1/vendor/github.com/containernetworking/cni/libcni/api.go#L521"],
        pattern: r#"plugin type=\\?"(?P<plugin>[\w.-]+)\\?"(?: name=\\?"[^"\\]*\\?")? failed \((?P<op>add|delete|check)\): (?P<err>.+)"#,
        kind: FactKind::CniError,
        subject: Part::Capture("plugin"),
        value: Part::Capture("err"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "9a8b7c": plugin type="calico" failed (add): stat /var/lib/calico/nodename: no such file or directory: check that the calico/node container is running and has mounted /var/lib/calico/"#,
            r#"failed to destroy network for sandbox "1f2e": plugin type="flannel" name="cbr0" failed (delete): failed to find plugin "bridge" in path [/opt/cni/bin]"#,
        ],
    },
    Signature {
        id: "cni-plugin-binary-missing",
        component: Component::CniPlugins,
        versions: "libcni v0.5.0 –",
        sources: &["https://github.com/containernetworking/plugins/blob/v1.9.1/vendor/github.com/containernetworking/cni/pkg/invoke/find.go#L47"],
        pattern: r#"failed to find plugin \\?"(?P<plugin>[\w.-]+)\\?" in path"#,
        kind: FactKind::CniError,
        subject: Part::Capture("plugin"),
        value: Part::Fixed("plugin binary missing from the CNI bin dir"),
        certainty: Certainty::Component,
        catalog: &["C06"],
        examples: &[
            r#"failed to destroy network for sandbox "1f2e": plugin type="flannel" name="cbr0" failed (delete): failed to find plugin "bridge" in path [/opt/cni/bin]"#,
            r#"networkPlugin cni failed to set up pod "web-0_default" network: failed to find plugin "flannel" in path [/opt/cni/bin]"#,
        ],
    },
    Signature {
        id: "cni-bridge-address-conflict",
        component: Component::CniPlugins,
        versions: "v0.6.0 –",
        sources: &[
            "https://github.com/containernetworking/plugins/blob/v0.8.6/plugins/main/bridge/bridge.go#L177",
            "https://github.com/containernetworking/plugins/blob/v1.9.1/plugins/main/bridge/bridge.go#L291",
            "https://github.com/flannel-io/flannel/issues/1344",
        ],
        pattern: r#"\\?"(?P<bridge>[\w.-]+)\\?" already has an IP address different from (?P<cidr>[0-9A-Fa-f.:]+/\d+)"#,
        kind: FactKind::CniError,
        subject: Part::Capture("bridge"),
        value: Part::Capture("cidr"),
        certainty: Certainty::Component,
        catalog: &["C35"],
        examples: &[
            r#"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "3c4d" network for pod "coredns-5d78c9869d-abcde": networkPlugin cni failed to set up pod "coredns-5d78c9869d-abcde_kube-system" network: failed to delegate add: failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24"#,
        ],
    },
];
