//! Every user-facing sentence of the pasted-text decoders, kept together (for a later
//! translation): what could not be read, and why an input was not recognised.

use std::fmt;

/// Something about a pasted file or one of its pieces that a reader of the findings must know:
/// a part that was cut, a line that could not be read, a value the text does not carry. Lines
/// are 1-based lines of the original file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextIssue {
    #[error("the file is larger than {limit} bytes; only the first {limit} bytes were read")]
    FileTooLarge { limit: usize },
    #[error("the file is not valid UTF-8; invalid bytes were replaced")]
    NotUtf8,
    #[error("line {line}: the paste ends in the middle of this line; it was not used")]
    CutMidLine { line: usize },
    #[error(
        "line {line}: the file does not end with a line end, so this last line may have been \
         cut; it was read as it is"
    )]
    MayBeCut { line: usize },
    #[error("line {line}: the paste ends in the middle of the {what}")]
    CutMidTable { line: usize, what: &'static str },
    #[error("line {line}: not a line of {what}: {reason}")]
    Unreadable {
        line: usize,
        what: &'static str,
        reason: &'static str,
    },
    #[error(
        "line {line}: {what} names instead of numbers ({name:?}); run the command with -n to \
         get addresses and ports"
    )]
    NamesNotNumbers {
        line: usize,
        what: &'static str,
        name: String,
    },
    #[error("line {line}: ipvsadm scaled this counter ({value:?}); its exact value is not known")]
    ScaledCounter { line: usize, value: String },
    #[error(
        "lines {first}-{last}: `ip route` without `show table all` states no table: the routes \
         are taken as table main, other tables were not shown"
    )]
    RouteTablesNotStated { first: usize, last: usize },
    #[error("line {line}: routing table {name:?} is named in /etc/iproute2/rt_tables of the node, whose number the paste does not say")]
    TableNameUnknown { line: usize, name: String },
    #[error("line {line}: {what}: the key {key:?} is not read; its value was not used")]
    UnknownKey {
        line: usize,
        what: &'static str,
        key: String,
    },
    #[error(
        "line {line}: iptables -v scaled these counters ({value:?}); their exact values are \
         not known (iptables -x prints them exactly)"
    )]
    ListingCounterScaled { line: usize, value: String },
    #[error("line {line}: {command:?} printed no output")]
    NoOutput { line: usize, command: String },
    #[error(
        "line {line}: column {column:?} is not one netsnap reads; its values were kept as printed"
    )]
    UnknownColumn { line: usize, column: String },
    #[error("line {line}: field {field:?} is not one netsnap reads; it was kept as printed")]
    UnknownField { line: usize, field: String },
    #[error(
        "lines {first}-{last}: ifconfig shows one IPv4 address per interface or label; \
         secondary addresses without a label of their own are not in this output (`ip addr` \
         shows them all)"
    )]
    IfconfigPrimaryOnly { first: usize, last: usize },
    #[error(
        "line {line}: ifconfig of net-tools 1.60 prints at most 9 characters of a name; \
         {name:?} may be the start of a longer name"
    )]
    NameMayBeCut { line: usize, name: String },
}

/// Why a piece of pasted text was not recognised, with what it looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownReason {
    pub why: UnknownWhy,
    /// The first non-empty line (at most [`SHOWN_CHARS`] characters).
    pub looked_like: String,
}

/// The first characters of a line shown in an [`UnknownReason`].
pub const SHOWN_CHARS: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownWhy {
    /// Nothing but blank lines.
    Empty,
    /// No known output shape in the first lines.
    NoSignature,
    /// The command line names a tool netsnap does not read.
    CommandNotRead,
    /// The command line names a known tool, but its output has another shape.
    CommandOutputMismatch,
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.why {
            UnknownWhy::Empty => "it holds only blank lines",
            UnknownWhy::NoSignature => {
                "it does not look like the output of any command netsnap reads \
                 (ipvsadm, ip, lsmod, sysctl, iptables, nft, ipset, ethtool, kubectl, logs)"
            }
            UnknownWhy::CommandNotRead => "netsnap does not read the output of this command",
            UnknownWhy::CommandOutputMismatch => {
                "the command line names a command netsnap reads, but its output has another shape"
            }
        };
        if self.looked_like.is_empty() {
            write!(f, "not recognised: {why}")
        } else {
            write!(
                f,
                "not recognised: {why}; it starts with {:?}",
                self.looked_like
            )
        }
    }
}

pub(crate) fn looked_like(body: &str) -> String {
    body.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .chars()
        .take(SHOWN_CHARS)
        .collect()
}
