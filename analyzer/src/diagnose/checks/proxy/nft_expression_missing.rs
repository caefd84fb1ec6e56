//! C42: kube-proxy in nftables mode on a kernel without an nf_tables expression its rules use.
//! kube-proxy (pkg/proxy/nftables) writes one ruleset transaction through `nft -f`; its rules
//! use `fib` (local-address matches), `numgen` (endpoint choice), `ct`, `dnat`, `masquerade`
//! and `reject`, several of which are kernel modules of their own (nft_fib, nft_numgen...).
//! Where one is missing the kernel answers ENOENT, nft prints "Could not process rule: No
//! such file or directory" under the rule with a caret line marking the expression, and the
//! whole transaction fails: no Service rule is programmed (siderolabs/pkgs#951: a kernel built
//! without CONFIG_NFT_FIB_IPV4).

use crate::diagnose::checks::{Check, CheckInfo};
use crate::diagnose::{Confidence, Context, FixStep, Layer, Severity, Verdicts};
use crate::observe::FactKind;

pub const INFO: CheckInfo = CheckInfo {
    id: "nft-expression-missing",
    catalog: "C42",
    title: "nftables mode on a kernel without an nf_tables expression kube-proxy uses",
    layer: Layer::Kernel,
    cause: true,
    references: &[
        "https://github.com/siderolabs/pkgs/issues/951",
        "https://github.com/kubernetes/kubernetes/tree/master/pkg/proxy/nftables",
    ],
    evidence: "nft's \"Could not process rule: No such file or directory\" with the echoed rule and the caret line under an expression that is a kernel module of its own (fib, numgen, ct, dnat, masquerade, reject...).",
    fix: "Load the expression's module (`modprobe nft_fib_ipv4` ...) or run a kernel built with it (CONFIG_NFT_FIB_IPV4/IPV6, CONFIG_NFT_NUMGEN, ...); kube-proxy then applies its ruleset at the next sync.",
};

pub const CHECK: Check = Check { info: &INFO, run };

fn run(cx: &Context<'_>) -> Verdicts {
    let said: Vec<_> = cx
        .node
        .observed(FactKind::NftExpressionUnsupported)
        .collect();
    let Some(first) = said.first() else {
        return Verdicts::clear(
            "no nft rule was rejected for an expression the kernel lacks",
            Vec::new(),
        );
    };
    let mut exprs: Vec<&str> = said.iter().map(|o| o.subject.as_str()).collect();
    exprs.sort_unstable();
    exprs.dedup();
    let list = exprs.join(", ");
    let mut f = cx.finding(
        &INFO,
        Severity::Error,
        Confidence::High,
        format!(
            "The kernel rejects the nf_tables expression{} {list} that kube-proxy's nftables \
             rules use: its ruleset is not applied",
            if exprs.len() == 1 { "" } else { "s" }
        ),
    );
    f.detail = format!(
        "nft answered \"No such file or directory\" for the rule part marked {:?}: the kernel \
         has no module for that expression. kube-proxy applies its whole ruleset in one \
         transaction, so one rejected rule leaves every Service without rules on this node.",
        first.value
    );
    f.evidence
        .extend(said.iter().take(3).map(|o| o.evidence.clone()));
    let modules: Vec<String> = exprs
        .iter()
        .flat_map(|e| match *e {
            "fib" => vec!["nft_fib_ipv4".to_string(), "nft_fib_ipv6".to_string()],
            "dnat" | "snat" => vec!["nft_nat".to_string()],
            "masquerade" => vec!["nft_masq".to_string()],
            "redirect" => vec!["nft_redir".to_string()],
            "reject" => vec!["nft_reject_inet".to_string()],
            other => vec![format!("nft_{other}")],
        })
        .collect();
    f.fix.push(FixStep::manual(format!(
        "Load {} (modprobe), or, where the kernel was built without them, use a kernel with \
         the matching CONFIG_NFT_* options; kube-proxy reapplies its ruleset at the next sync.",
        modules.join(", ")
    )));
    Verdicts::found(f)
}
