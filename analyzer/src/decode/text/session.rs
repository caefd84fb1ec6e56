//! A pasted file made plain, then cut into pieces: one per command output of a pasted terminal
//! session (`root@node1:~# ipvsadm -Ln` followed by what it printed), or one for the whole file
//! when it holds no prompt.
//!
//! Line numbers survive normalisation: a CRLF, a lone CR (old Mac line ends, or a terminal's
//! carriage return) and an LF each end one line, the way an editor counts them, so line N of
//! the normalised text is line N of the original file.

use super::issue::TextIssue;

/// Largest pasted file read. `sysctl -a` is about 100 KB, `iptables-save` of a large cluster a
/// few tens of MB; anything beyond is not a paste.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// A pasted file, normalised: no BOM, no CR, no ANSI escape sequences; tabs kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub text: String,
    /// The file did not end with a line end: its last line may have been cut.
    pub ends_mid_line: bool,
    pub issues: Vec<TextIssue>,
}

/// Normalises the bytes of a pasted file (see the module comment).
pub fn normalize(bytes: &[u8]) -> Normalized {
    let mut issues = Vec::new();
    let mut bytes = bytes;
    if bytes.len() > MAX_FILE_BYTES {
        bytes = &bytes[..MAX_FILE_BYTES];
        issues.push(TextIssue::FileTooLarge {
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let decoded = String::from_utf8_lossy(bytes);
    if matches!(decoded, std::borrow::Cow::Owned(_)) {
        issues.push(TextIssue::NotUtf8);
    }
    let mut text = String::with_capacity(decoded.len());
    let mut chars = decoded.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                text.push('\n');
            }
            '\u{1b}' => skip_escape(&mut chars),
            // The 8-bit CSI some terminals emit instead of ESC [.
            '\u{9b}' => skip_csi(&mut chars),
            c => text.push(c),
        }
    }
    let ends_mid_line = !text.is_empty() && !text.ends_with('\n');
    Normalized {
        text,
        ends_mid_line,
        issues,
    }
}

/// Skips an ECMA-48 escape sequence after its ESC: CSI (`ESC [ params final`, e.g. the SGR
/// colours of `ip -c`, `ls --color`), OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`, e.g. a
/// terminal title set by the prompt) or a two-character sequence.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // A line end never belongs to a sequence: line numbers must stay those of the file.
    if matches!(chars.peek(), Some('\n' | '\r')) {
        return;
    }
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') => {
            while let Some(&c) = chars.peek() {
                if c == '\n' || c == '\r' {
                    // An unterminated OSC: keep the line structure.
                    break;
                }
                chars.next();
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        _ => {}
    }
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameter and intermediate bytes are 0x20-0x3f; the final byte is 0x40-0x7e.
    while let Some(&c) = chars.peek() {
        if c == '\n' || c == '\r' {
            break;
        }
        chars.next();
        if ('\u{40}'..='\u{7e}').contains(&c) || !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

/// One command output of a pasted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The command as typed after the prompt (`ipvsadm -Ln`), if the paste showed it.
    pub command: Option<String>,
    /// The line of the prompt and command.
    pub command_line: Option<usize>,
    /// First and last line of the output (1-based, inclusive, in the original file); when the
    /// output is empty, `first_line` is the line after the command and `last_line` is
    /// `first_line - 1`.
    pub first_line: usize,
    pub last_line: usize,
    /// The output's lines joined with `\n`.
    pub body: String,
}

impl Piece {
    /// The body's lines with their line numbers in the original file.
    pub fn numbered_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.body
            .lines()
            .enumerate()
            .map(move |(i, l)| (self.first_line + i, l))
    }
}

/// Commands a prompt may run whose output netsnap reads, or that people paste around them.
/// A bare `$ ` or `# ` prefix (a root prompt, but also a comment in `sysctl.conf` or
/// `iptables-save` output) is a prompt only before one of these.
const KNOWN_COMMANDS: &[&str] = &[
    "ipvsadm",
    "ip",
    "lsmod",
    "cat",
    "sysctl",
    "iptables",
    "iptables-save",
    "iptables-legacy",
    "iptables-legacy-save",
    "iptables-nft",
    "iptables-nft-save",
    "ip6tables",
    "ip6tables-save",
    "ip6tables-legacy-save",
    "ip6tables-nft-save",
    "nft",
    "ipset",
    "ethtool",
    "kubectl",
    "k",
    "crictl",
    "journalctl",
    "dmesg",
    "ifconfig",
    "modprobe",
    "uname",
    "calicoctl",
    "docker",
    "tail",
    "head",
    "grep",
    "less",
];

/// Recognises a shell prompt followed by a command and returns the command:
/// `root@node1:~# cmd` (Debian, Ubuntu), `[root@k8s-master ~]# cmd` (RHEL), `node1 ~ # cmd`
/// (Gentoo), `$ cmd`, `# cmd`, `user@host:~$ sudo cmd`, `(venv) user@host:~$ cmd`.
pub fn prompt_command(line: &str) -> Option<String> {
    prompt_parts(line, &[]).map(|(_, cmd)| cmd)
}

/// The prompt (up to and including its `#`/`$`) and the command of a prompt line. A prompt
/// already seen in this file (`seen`) is a prompt before any command (`node1 ~ # exit`).
fn prompt_parts(line: &str, seen: &[String]) -> Option<(String, String)> {
    if line.len() > 4096 {
        return None;
    }
    for p in seen {
        if let Some(rest) = line
            .strip_prefix(p.as_str())
            .and_then(|r| r.strip_prefix(' '))
        {
            let rest = rest.trim();
            if is_commandish(first_command_word(rest)) {
                return Some((p.clone(), rest.to_string()));
            }
        }
    }
    // A prompt ends with `# ` or `$ ` (or `> `/`% ` for zsh/fish-like prompts with user@host).
    for (pos, _) in line.match_indices(['#', '$', '>', '%']) {
        let prefix = &line[..pos];
        let rest = line[pos + 1..].strip_prefix(' ').map(str::trim);
        let Some(rest) = rest else { continue };
        if rest.is_empty() {
            continue;
        }
        let strong = is_strong_prompt(prefix);
        if !(strong || is_weak_prompt(prefix)) {
            continue;
        }
        let word = first_command_word(rest);
        let known = KNOWN_COMMANDS.contains(&word);
        if known || (strong && is_commandish(word)) {
            return Some((line[..=pos].to_string(), rest.to_string()));
        }
    }
    None
}

/// `user@host:path`, `[user@host path]`, `user@host path`, with an optional `(venv) ` before.
fn is_strong_prompt(prefix: &str) -> bool {
    let p = prefix.trim_end();
    let p = match p.strip_prefix('(') {
        Some(rest) => rest.split_once(") ").map_or(p, |(_, r)| r),
        None => p,
    };
    let inner = p
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(p);
    let Some((user, host)) = inner.split_once('@') else {
        return false;
    };
    !user.is_empty()
        && !user.contains(char::is_whitespace)
        && !host.is_empty()
        && p.len() <= 200
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Nothing, or at most two short words (`node1 ~`): only before a known command.
fn is_weak_prompt(prefix: &str) -> bool {
    let p = prefix.trim();
    p.is_empty() || (p.len() <= 80 && p.split_whitespace().count() <= 2 && !p.contains('='))
}

fn first_command_word(cmd: &str) -> &str {
    let mut words = cmd.split_whitespace();
    let mut w = words.next().unwrap_or_default();
    while w == "sudo" || w == "time" || w.contains('=') {
        w = match words.next() {
            Some(n) => n,
            None => return w,
        };
    }
    w.rsplit('/').next().unwrap_or(w)
}

fn is_commandish(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

/// A piece being collected: its command, the command's line, and its numbered lines.
type Open<'a> = (Option<String>, Option<usize>, Vec<(usize, &'a str)>);

/// Cuts normalised text into pieces at prompt lines. Text before the first prompt is a piece
/// without command; blank lines around an output are not part of it; a prompt with nothing
/// typed after it (the end of a session) ends the previous piece.
pub fn split(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut current: Option<Open<'_>> = None;
    let flush = |cur: Option<Open<'_>>, pieces: &mut Vec<Piece>| {
        let Some((command, command_line, lines)) = cur else {
            return;
        };
        let first = lines.iter().position(|(_, l)| !l.trim().is_empty());
        let last = lines.iter().rposition(|(_, l)| !l.trim().is_empty());
        match (first, last) {
            (Some(a), Some(b)) => pieces.push(Piece {
                command,
                command_line,
                first_line: lines[a].0,
                last_line: lines[b].0,
                body: lines[a..=b]
                    .iter()
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n"),
            }),
            _ => {
                if let (Some(command), Some(n)) = (command, command_line) {
                    pieces.push(Piece {
                        command: Some(command),
                        command_line: Some(n),
                        first_line: n + 1,
                        last_line: n,
                        body: String::new(),
                    });
                }
            }
        }
    };
    let mut seen: Vec<String> = Vec::new();
    let all: Vec<&str> = text.lines().collect();
    for (i, line) in all.iter().copied().enumerate() {
        let n = i + 1;
        // A bare command starts a piece after a blank line, or right after the output of
        // another command: once a paste shows commands above their outputs, the next command
        // line is one too (`cat a` output `cat b` output, pasted without blank lines).
        let at_start = current.as_ref().is_none_or(|(cmd, _, lines)| {
            cmd.is_some() || lines.last().is_none_or(|(_, l)| l.trim().is_empty())
        });
        if at_start && is_bare_command(line) && output_follows(&all[i + 1..]) {
            flush(current.take(), &mut pieces);
            current = Some((Some(line.trim().to_string()), Some(n), Vec::new()));
        } else if let Some((prompt, cmd)) = prompt_parts(line, &seen) {
            if !seen.contains(&prompt) && seen.len() < 16 {
                seen.push(prompt);
            }
            flush(current.take(), &mut pieces);
            current = Some((Some(cmd), Some(n), Vec::new()));
        } else if is_empty_prompt(line, &seen) {
            flush(current.take(), &mut pieces);
        } else {
            current
                .get_or_insert_with(|| (None, None, Vec::new()))
                .2
                .push((n, line));
        }
    }
    flush(current, &mut pieces);
    pieces
}

/// Read-only commands people paste above their output without a prompt.
const BARE_COMMANDS: &[&str] = &[
    "kubectl",
    "ipvsadm",
    "iptables",
    "ip6tables",
    "iptables-save",
    "iptables-legacy-save",
    "iptables-nft-save",
    "ip",
    "lsmod",
    "sysctl",
    "cat",
    "curl",
    "calicoctl",
    "ethtool",
    "nft",
    "ipset",
    "ifconfig",
    "route",
    "ss",
    "netstat",
    "dmesg",
    "journalctl",
    "uname",
];

/// A line that is one of [`BARE_COMMANDS`] with its arguments, typed without a prompt.
fn is_bare_command(line: &str) -> bool {
    let t = line.trim();
    let word = first_command_word(t);
    t.len() <= 200 && t.split_whitespace().count() >= 2 && BARE_COMMANDS.contains(&word)
}

/// Whether output follows a bare command: the next non-blank line is not a command itself
/// (a list of commands, as in install steps, is not a session).
fn output_follows(rest: &[&str]) -> bool {
    rest.iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| !is_bare_command(l) && prompt_command(l).is_none())
}

/// `root@node1:~# ` with nothing typed (or a prompt seen before): the end of a session.
fn is_empty_prompt(line: &str, seen: &[String]) -> bool {
    let t = line.trim_end();
    matches!(t.chars().last(), Some('#' | '$'))
        && (is_strong_prompt(&t[..t.len() - 1]) || seen.iter().any(|p| p == t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_line_ends_escapes_and_bom() {
        let n = normalize(b"\xef\xbb\xbfa\r\nb\rc\n\x1b[1;31mred\x1b[0m\tx\n\x1b]0;title\x07d");
        assert_eq!(n.text, "a\nb\nc\nred\tx\nd");
        assert!(n.ends_mid_line);
        assert!(n.issues.is_empty());
        let n = normalize(b"\xff\n");
        assert_eq!(n.issues, vec![TextIssue::NotUtf8]);
        assert!(!n.ends_mid_line);
    }

    #[test]
    fn escape_sequences_never_swallow_a_line_end() {
        for input in [
            "\u{1b}\nb\n",
            "\u{1b}]0;title\nb\n",
            "\u{1b}[1;3\nb\n",
            "\u{9b}2\rb\n",
        ] {
            let n = normalize(input.as_bytes());
            assert_eq!(n.text.lines().count(), 2, "{input:?} -> {:?}", n.text);
        }
    }

    #[test]
    fn prompts() {
        for (line, want) in [
            ("root@node1:~# ipvsadm -Ln", Some("ipvsadm -Ln")),
            ("[root@k8s-master ~]# lsmod", Some("lsmod")),
            (
                "$ kubectl get svc -A -o yaml",
                Some("kubectl get svc -A -o yaml"),
            ),
            ("node1 ~ # ip a", Some("ip a")),
            (
                "ubuntu@ip-10-0-0-1:~$ sudo ipvsadm -Ln",
                Some("sudo ipvsadm -Ln"),
            ),
            ("(venv) me@laptop:~/x$ ./collect.sh", Some("./collect.sh")),
            ("# Generated by iptables-save v1.8.9 on Mon", None),
            ("# Completed on Mon Nov 25 10:00:00 2026", None),
            ("net.ipv4.ip_forward = 1", None),
            (
                "-A KUBE-SERVICES -m comment --comment \"x\" -j ACCEPT",
                None,
            ),
            (
                "  -> 10.244.0.5:8080              Masq    1      0          0",
                None,
            ),
            ("    inet 10.0.0.1/8 scope global eth0", None),
        ] {
            assert_eq!(prompt_command(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn splits_a_session_with_original_line_numbers() {
        let text = "root@n1:~# ipvsadm -Ln\nIP Virtual Server version 1.2.1 (size=4096)\n\n\
                    root@n1:~# lsmod\nModule Size Used by\nip_vs 1 0\nroot@n1:~# true\n\
                    root@n1:~# ";
        let p = split(text);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].command.as_deref(), Some("ipvsadm -Ln"));
        assert_eq!(
            (p[0].command_line, p[0].first_line, p[0].last_line),
            (Some(1), 2, 2)
        );
        assert_eq!(p[1].command.as_deref(), Some("lsmod"));
        assert_eq!((p[1].first_line, p[1].last_line), (5, 6));
        assert_eq!(
            p[1].numbered_lines().collect::<Vec<_>>(),
            vec![(5, "Module Size Used by"), (6, "ip_vs 1 0")]
        );
        assert_eq!(p[2].command.as_deref(), Some("true"));
        assert!(p[2].body.is_empty());
        assert_eq!((p[2].first_line, p[2].last_line), (8, 7));
    }

    #[test]
    fn no_prompt_is_one_piece() {
        let p = split("\n\nnet.ipv4.ip_forward = 1\n# a comment\nkernel.x = 2\n\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].command, None);
        assert_eq!((p[0].first_line, p[0].last_line), (3, 5));
    }

    #[test]
    fn a_bare_command_above_its_output_is_its_command() {
        let text = "kubectl describe svc web\nName:   web\nNamespace:  default\n\nkubeadm init --pod-network-cidr=10.244.0.0/16\nkubectl apply -f flannel.yml\nlsmod | grep br_netfilter\n";
        let pieces = split(text);
        assert_eq!(
            pieces[0].command.as_deref(),
            Some("kubectl describe svc web")
        );
        assert_eq!(pieces[0].first_line, 2);
        // A list of commands is not a session: none of them printed nothing.
        assert!(pieces
            .iter()
            .all(|p| p.command.as_deref() != Some("lsmod | grep br_netfilter")));
    }

    #[test]
    fn bare_commands_one_after_the_others_output() {
        let text = "cat /run/flannel/docker\nDOCKER_OPT_BIP=\"--bip=10.1.2.1/24\"\ncat /run/flannel/subnet.env\nFLANNEL_SUBNET=10.1.3.1/24\n";
        let pieces = split(text);
        let cmds: Vec<_> = pieces.iter().map(|p| p.command.as_deref()).collect();
        assert_eq!(
            cmds,
            [
                Some("cat /run/flannel/docker"),
                Some("cat /run/flannel/subnet.env")
            ]
        );
        assert_eq!(pieces[1].body, "FLANNEL_SUBNET=10.1.3.1/24");
    }
}
