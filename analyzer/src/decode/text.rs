//! Loose text that people paste into a ticket instead of running the collector (`ipvsadm -Ln`,
//! `ip a`, `ip route`, `lsmod`, `sysctl -a`, `iptables-save`, `kubectl get -o yaml`, ...), read
//! into the same typed model the bundle's native evidence decodes to.
//!
//! A file is normalised and cut into pieces ([`session`]: one per command of a pasted terminal
//! session), each piece is recognised by its content and command line, never by the file's
//! name ([`recognize`]), and parsed where a parser exists. Every parsed item carries the line
//! it came from in the original file, so a finding can cite `ipvsadm.txt:7`. What the text
//! does not carry stays unknown (`None`, or a flag on the piece), never guessed; what could not
//! be read is reported as a [`TextIssue`], and a piece that is not recognised comes back as
//! [`TextKind::Unknown`] with what it looked like.
//!
//! Pure: bytes in, values out.

pub mod ifconfig;
pub mod ip_brief;
pub mod ip_json;
pub mod ip_link;
pub mod ip_route;
pub mod ip_rule;
pub mod iptables_list;
pub mod ipvsadm;
mod issue;
pub mod kubectl_describe;
pub mod kubectl_get;
pub mod link_manager;
pub mod lsmod;
pub mod nft;
pub mod recognize;
pub mod session;
pub mod shapes;
pub mod sysctl;

#[cfg(test)]
mod corpus;

pub use issue::{TextIssue, UnknownReason, UnknownWhy};
pub use recognize::{IpvsadmView, LogSource, TextKind};
pub use session::Piece;

/// A value and the 1-based line of the original file it was read from (its first line, when
/// it spans several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub value: T,
    pub line: usize,
}

/// What one piece was parsed into.
#[derive(Debug, Clone, PartialEq)]
pub enum TextContent {
    Ipvs(ipvsadm::IpvsText),
    /// `ip link`, `ip -d link`, `ip addr`, `ip -j` of those, `ip -br link`/`addr`, `ifconfig`.
    Links(ip_link::LinksText),
    Routes(ip_route::RoutesText),
    Rules(ip_rule::RulesText),
    /// `lsmod` or `/proc/modules`.
    Modules(lsmod::ModulesText),
    Sysctls(sysctl::SysctlText),
    /// `kubectl get` tables: partial Services, Endpoints, EndpointSlices, Pods, Nodes.
    KubectlTables(kubectl_get::TablesText),
    /// `kubectl describe`: partial Services (with their Endpoints), Nodes, Pods.
    KubectlDescribe(kubectl_describe::DescribeText),
    /// `iptables -L -n [-v]`: one table, read as far as a listing carries it.
    IptablesList(iptables_list::IptablesListText),
    /// `nft list ruleset`.
    Nft(nft::NftText),
    /// A kind another decoder reads (iptables-save: `decode::iptables`, ipset save:
    /// `decode::ipset`, kubectl YAML/JSON: `decode::k8s`), or one no decoder reads yet: the
    /// piece's text, whose line 1 is line `first_line` of the file.
    Text {
        text: String,
        first_line: usize,
    },
    /// Nothing to read (an unknown piece, or a command that printed nothing).
    None,
}

/// One recognised (or not) piece of a pasted file.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPiece {
    pub piece: Piece,
    pub kind: TextKind,
    pub content: TextContent,
    pub issues: Vec<TextIssue>,
}

impl TextPiece {
    /// The issues of the parsed content (unreadable lines, names, cuts).
    pub fn content_issues(&self) -> impl Iterator<Item = &TextIssue> {
        let issues: &[TextIssue] = match &self.content {
            TextContent::Ipvs(t) => &t.issues,
            TextContent::Links(t) => &t.issues,
            TextContent::Routes(t) => &t.issues,
            TextContent::Rules(t) => &t.issues,
            TextContent::Modules(t) => &t.issues,
            TextContent::Sysctls(t) => &t.issues,
            TextContent::KubectlTables(t) => &t.issues,
            TextContent::KubectlDescribe(t) => &t.issues,
            TextContent::Nft(t) => &t.issues,
            TextContent::IptablesList(t) => &t.issues,
            TextContent::Text { .. } | TextContent::None => &[],
        };
        issues.iter()
    }

    /// Every issue of the piece: its own and its content's.
    pub fn all_issues(&self) -> impl Iterator<Item = &TextIssue> {
        self.issues.iter().chain(self.content_issues())
    }
}

/// A pasted file, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFile {
    pub pieces: Vec<TextPiece>,
    /// Issues of the whole file (too large, not UTF-8).
    pub issues: Vec<TextIssue>,
}

/// Decodes one pasted file.
pub fn decode_text(bytes: &[u8]) -> TextFile {
    let norm = session::normalize(bytes);
    let pieces = session::split(&norm.text);
    let count = pieces.len();
    let pieces = pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let cut = norm.ends_mid_line && i + 1 == count;
            let mut p = decode_piece(piece, cut);
            let last = p.piece.last_line;
            if cut
                && !p
                    .content_issues()
                    .any(|x| *x == TextIssue::CutMidLine { line: last })
            {
                p.issues.push(TextIssue::MayBeCut { line: last });
            }
            p
        })
        .collect();
    TextFile {
        pieces,
        issues: norm.issues,
    }
}

/// Recognises and parses one piece. `cut_at_end`: the file ended without a line end in this
/// piece, so its last line may have been cut.
pub fn decode_piece(piece: Piece, cut_at_end: bool) -> TextPiece {
    let kind = recognize::recognize(piece.command.as_deref(), &piece.body);
    let mut issues = Vec::new();
    if piece.body.is_empty() {
        if let (Some(command), Some(line)) = (&piece.command, piece.command_line) {
            issues.push(TextIssue::NoOutput {
                line,
                command: command.clone(),
            });
        }
    }
    let src = Source::new(&piece, cut_at_end);
    let content = match &kind {
        TextKind::Ipvsadm(view) => TextContent::Ipvs(ipvsadm::parse(&src, *view)),
        TextKind::IpLink { .. } | TextKind::IpAddr { .. } => {
            TextContent::Links(ip_link::parse(&src))
        }
        TextKind::IpBrief if !piece.body.is_empty() => TextContent::Links(ip_brief::parse(&src)),
        TextKind::Ifconfig if !piece.body.is_empty() => TextContent::Links(ifconfig::parse(&src)),
        TextKind::IpRoute => TextContent::Routes(ip_route::parse(&src)),
        TextKind::IpJson if !piece.body.is_empty() => match ip_json::parse(&src) {
            ip_json::IpJsonText::Links(t) => TextContent::Links(t),
            ip_json::IpJsonText::Routes(t) => TextContent::Routes(t),
            ip_json::IpJsonText::Rules(t) => TextContent::Rules(t),
            ip_json::IpJsonText::NotRead(why) => {
                issues.extend(why);
                TextContent::Text {
                    text: piece.body.clone(),
                    first_line: piece.first_line,
                }
            }
        },
        TextKind::IpRule => TextContent::Rules(ip_rule::parse(&src)),
        TextKind::Lsmod => TextContent::Modules(lsmod::parse_lsmod(&src)),
        TextKind::ProcModules => TextContent::Modules(lsmod::parse_proc_modules(&src)),
        TextKind::Sysctl => TextContent::Sysctls(sysctl::parse(&src)),
        TextKind::KubectlTable => TextContent::KubectlTables(kubectl_get::parse(&src)),
        TextKind::KubectlDescribe => TextContent::KubectlDescribe(kubectl_describe::parse(&src)),
        TextKind::IptablesList if !piece.body.is_empty() => {
            TextContent::IptablesList(iptables_list::parse(&src))
        }
        TextKind::NftRuleset if !piece.body.is_empty() => TextContent::Nft(nft::parse(&src)),
        TextKind::Unknown(_) => TextContent::None,
        _ if piece.body.is_empty() => TextContent::None,
        _ => TextContent::Text {
            text: piece.body.clone(),
            first_line: piece.first_line,
        },
    };
    TextPiece {
        piece,
        kind,
        content,
        issues,
    }
}

/// A piece as the parsers read it: its numbered lines, and whether its end was cut.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub piece: &'a Piece,
    pub cut_at_end: bool,
    pub last_line: usize,
}

impl<'a> Source<'a> {
    pub fn new(piece: &'a Piece, cut_at_end: bool) -> Self {
        Source {
            piece,
            cut_at_end,
            last_line: piece.last_line,
        }
    }

    /// The command line, if the paste showed it.
    pub fn command(&self) -> Option<&'a str> {
        self.piece.command.as_deref()
    }

    /// Numbered lines (original file numbering).
    pub fn lines(&self) -> impl Iterator<Item = (usize, &'a str)> {
        self.piece.numbered_lines()
    }

    /// The issue for a line that could not be read: a cut when it is the last line of a paste
    /// that ends mid-line.
    pub fn bad(&self, line: usize, what: &'static str, reason: &'static str) -> TextIssue {
        if self.cut_at_end && line == self.last_line {
            TextIssue::CutMidLine { line }
        } else {
            TextIssue::Unreadable { line, what, reason }
        }
    }
}
