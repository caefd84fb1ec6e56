//! Kubernetes objects through `kubectl`, when it is installed and a kubeconfig answers a quick
//! `kubectl get --raw /version`. Each object list runs under its own budget with
//! `--request-timeout`. Secrets are never requested.

use std::path::{Path, PathBuf};
use std::time::Instant;

use netsnap_bundle::{names, Source, Status};

use super::commands::{self, Outcome};
use crate::collect::{cap, Ctx, Record};
use crate::msg;

/// One kubectl read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// File name under `k8s/`.
    pub name: String,
    /// Arguments after `kubectl --kubeconfig X --request-timeout=Ns`.
    pub args: Vec<String>,
    pub cap: usize,
}

impl Item {
    pub fn artifact(&self) -> String {
        names::k8s_artifact(&self.name)
    }
}

/// Tail of each log stream.
const LOG_TAIL: &str = "--tail=300";

/// Every read, in a fixed order.
pub fn items() -> Vec<Item> {
    let mut v = Vec::new();
    let mut add = |name: String, args: Vec<&str>, cap: usize| {
        v.push(Item {
            name,
            args: args.into_iter().map(str::to_string).collect(),
            cap,
        });
    };
    for r in [
        "services",
        "endpoints",
        "endpointslices.discovery.k8s.io",
        "nodes",
        "pods",
        "networkpolicies.networking.k8s.io",
    ] {
        add(
            format!("{r}.yaml"),
            vec!["get", r, "-A", "-o", "yaml"],
            cap::KUBECTL,
        );
    }
    for kind in ["configmap", "daemonset"] {
        add(
            format!("{kind}-kube-system-kube-proxy.yaml"),
            vec!["get", kind, "kube-proxy", "-n", "kube-system", "-o", "yaml"],
            cap::KUBECTL,
        );
    }
    for ns in ["kube-flannel", "kube-system"] {
        add(
            format!("configmap-{ns}-kube-flannel-cfg.yaml"),
            vec![
                "get",
                "configmap",
                "kube-flannel-cfg",
                "-n",
                ns,
                "-o",
                "yaml",
            ],
            cap::KUBECTL,
        );
    }
    for group in ["crd.projectcalico.org", "projectcalico.org"] {
        for r in [
            "ippools",
            "felixconfigurations",
            "bgpconfigurations",
            "nodes",
        ] {
            let res = format!("{r}.{group}");
            add(
                format!("{res}.yaml"),
                vec!["get", &res, "-o", "yaml"],
                cap::KUBECTL,
            );
        }
    }
    for (ns, app, selector) in [
        ("kube-system", "kube-proxy", "k8s-app=kube-proxy"),
        ("kube-system", "calico-node", "k8s-app=calico-node"),
        ("calico-system", "calico-node", "k8s-app=calico-node"),
        ("kube-flannel", "flannel", "app=flannel"),
        ("kube-system", "flannel", "app=flannel"),
    ] {
        add(
            format!("logs-{ns}-{app}.txt"),
            vec![
                "logs",
                "-n",
                ns,
                "-l",
                selector,
                "--all-containers",
                "--prefix",
                LOG_TAIL,
                "--max-log-requests=20",
            ],
            cap::LOGS,
        );
    }
    v
}

/// How to reach the API server once the check passed: the kubeconfig to pass (None: let
/// kubectl use `$KUBECONFIG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub program: PathBuf,
    pub kubeconfig: Option<PathBuf>,
}

/// The kubectl choice from the command line.
#[derive(Debug, Clone)]
pub struct Setup {
    /// None: `--no-kubectl`.
    program: Option<String>,
    kubeconfig: Option<PathBuf>,
}

/// The kubeconfig to use: `--kubeconfig`, else `$KUBECONFIG` (kubectl reads it itself), else
/// the first existing well-known file. `Ok(None)` means "rely on $KUBECONFIG".
pub fn pick_kubeconfig(
    flag: Option<&Path>,
    env: Option<&str>,
    home: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Option<PathBuf>, String> {
    if let Some(f) = flag {
        return Ok(Some(f.to_path_buf()));
    }
    if env.is_some_and(|e| !e.is_empty()) {
        return Ok(None);
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(h) = home {
        candidates.push(h.join(".kube/config"));
    }
    candidates.push("/etc/kubernetes/admin.conf".into());
    candidates.push("/etc/kubernetes/kubelet.conf".into());
    candidates
        .into_iter()
        .find(|c| exists(c))
        .map(Some)
        .ok_or_else(|| msg::KUBECTL_NO_KUBECONFIG.to_string())
}

/// Status of a failed kubectl read, from its stderr.
pub fn failure_status(stderr: &str) -> Status {
    let s = stderr.to_ascii_lowercase();
    if s.contains("the server doesn't have a resource type")
        || s.contains("notfound")
        || s.contains("not found")
    {
        Status::Absent
    } else if s.contains("forbidden") || s.contains("unauthorized") {
        Status::Denied
    } else if s.contains("client.timeout exceeded")
        || s.contains("context deadline exceeded")
        || s.contains("i/o timeout")
    {
        // Our `--request-timeout` fired inside kubectl (Go's net/http and context errors): the
        // API server did not answer in time, which is a timeout, not a failure of kubectl.
        Status::Timeout
    } else {
        Status::Error
    }
}

impl Setup {
    pub fn new(program: Option<&str>, kubeconfig: Option<&Path>) -> Setup {
        Setup {
            program: program.map(str::to_string),
            kubeconfig: kubeconfig.map(Path::to_path_buf),
        }
    }

    fn base_args(access: &Access, timeout_secs: u64) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(k) = &access.kubeconfig {
            a.push(format!("--kubeconfig={}", k.display()));
        }
        a.push(format!("--request-timeout={}s", timeout_secs.max(1)));
        a
    }

    pub fn source(&self, item: &Item) -> Source {
        let mut argv = vec!["kubectl".to_string()];
        argv.extend(item.args.iter().cloned());
        Source::Command { argv }
    }

    fn resolve(&self) -> Result<Access, String> {
        let program = self.program.as_deref().ok_or(msg::KUBECTL_DISABLED)?;
        let program = if program.contains('/') {
            Some(PathBuf::from(program)).filter(|p| p.is_file())
        } else {
            commands::which(program)
        }
        .ok_or(msg::KUBECTL_NOT_FOUND)?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let env = std::env::var("KUBECONFIG").ok();
        let kubeconfig = pick_kubeconfig(
            self.kubeconfig.as_deref(),
            env.as_deref(),
            home.as_deref(),
            &|p| p.is_file(),
        )?;
        Ok(Access {
            program,
            kubeconfig,
        })
    }

    /// Whether kubectl is usable; records `k8s/version.json` either way.
    pub fn check(&self, ctx: &Ctx) -> Result<Access, String> {
        let started = Instant::now();
        let path = names::k8s_artifact("version.json");
        let source = Source::Command {
            argv: vec![
                "kubectl".into(),
                "get".into(),
                "--raw".into(),
                "/version".into(),
            ],
        };
        let access = match self.resolve() {
            Ok(a) => a,
            Err(reason) => {
                ctx.put(Record::missing(
                    &path,
                    source,
                    Status::Skipped,
                    &reason,
                    started,
                ));
                return Err(reason);
            }
        };
        let mut args = Self::base_args(&access, ctx.remaining().as_secs().saturating_sub(1));
        args.extend(["get", "--raw", "/version"].map(str::to_string));
        let out = commands::run(
            &access.program,
            "kubectl",
            &args,
            ctx.deadline,
            ctx.spool(cap::TEXT),
        );
        match out {
            Ok(o) if o.exit_code == Some(0) && !o.timed_out => {
                ctx.put(commands::stdout_record(&path, source, o.stdout, started));
                Ok(access)
            }
            Ok(o) => {
                let detail = if o.timed_out {
                    "no answer in time".to_string()
                } else {
                    String::from_utf8_lossy(&o.stderr).trim().to_string()
                };
                let reason = msg::kubectl_unusable(&detail);
                let mut r = Record::missing(&path, source, Status::Error, &reason, started);
                r.artifact.exit_code = o.exit_code;
                ctx.put(r);
                Err(reason)
            }
            Err(e) => {
                let reason = msg::kubectl_unusable(&e.to_string());
                ctx.put(Record::missing(
                    &path,
                    source,
                    Status::Error,
                    &reason,
                    started,
                ));
                Err(reason)
            }
        }
    }

    pub fn probe(&self, ctx: &Ctx, item: &Item, access: &Access) {
        let started = Instant::now();
        let budget = ctx.remaining();
        let mut args = Self::base_args(access, budget.as_secs().saturating_sub(1));
        args.extend(item.args.iter().cloned());
        let spool = ctx.spool(item.cap);
        let r = match commands::run(&access.program, "kubectl", &args, ctx.deadline, spool) {
            Ok(o) => self.record(item, o, started, budget),
            Err(e) => Record::missing(
                item.artifact(),
                self.source(item),
                Status::Error,
                e.to_string(),
                started,
            ),
        };
        ctx.put(r);
    }

    fn record(
        &self,
        item: &Item,
        o: Outcome,
        started: Instant,
        budget: std::time::Duration,
    ) -> Record {
        let failed = !o.timed_out && o.exit_code != Some(0);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        // `kubectl logs -l` with no matching pod prints "No resources found" and exits 0.
        let mut r = commands::record(&item.artifact(), self.source(item), o, started, budget);
        if failed {
            r.artifact.status = failure_status(&stderr);
        }
        r
    }
}

pub fn check_planned() -> Vec<(String, Source)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_secrets_and_names_are_unique() {
        let items = items();
        let mut names: Vec<String> = items.iter().map(Item::artifact).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        for i in &items {
            assert!(
                !i.args
                    .iter()
                    .any(|a| a.to_ascii_lowercase().contains("secret")),
                "{i:?}"
            );
            assert!(crate::archive::is_safe_path(&i.artifact()));
        }
        assert!(names.contains(&"k8s/ippools.crd.projectcalico.org.yaml".to_string()));
        assert!(names.contains(&"k8s/ippools.projectcalico.org.yaml".to_string()));
    }

    #[test]
    fn kubeconfig_preference() {
        let none = |_: &Path| false;
        let all = |_: &Path| true;
        let flag = Path::new("/k");
        assert_eq!(
            pick_kubeconfig(Some(flag), Some("/e"), None, &none),
            Ok(Some(flag.into()))
        );
        assert_eq!(pick_kubeconfig(None, Some("/e"), None, &none), Ok(None));
        assert_eq!(
            pick_kubeconfig(None, None, Some(Path::new("/root")), &all),
            Ok(Some("/root/.kube/config".into()))
        );
        let kubelet = |p: &Path| p == Path::new("/etc/kubernetes/kubelet.conf");
        assert_eq!(
            pick_kubeconfig(None, Some(""), None, &kubelet),
            Ok(Some("/etc/kubernetes/kubelet.conf".into()))
        );
        assert!(pick_kubeconfig(None, None, None, &none).is_err());
    }

    #[test]
    fn failures_map_to_statuses() {
        assert_eq!(
            failure_status("error: the server doesn't have a resource type \"ippools\""),
            Status::Absent
        );
        assert_eq!(
            failure_status(
                "Error from server (NotFound): configmaps \"kube-flannel-cfg\" not found"
            ),
            Status::Absent
        );
        assert_eq!(
            failure_status("Error from server (Forbidden): pods is forbidden"),
            Status::Denied
        );
        assert_eq!(
            failure_status("Unable to connect to the server"),
            Status::Error
        );
        // What kubectl 1.32 printed when our --request-timeout fired on a list that hung.
        assert_eq!(
            failure_status(
                "Unable to connect to the server: net/http: request canceled \
                 (Client.Timeout exceeded while awaiting headers)"
            ),
            Status::Timeout
        );
    }
}
