//! The configuration file (TOML) and what it becomes once keys are loaded.
//!
//! `examples/hanko-milter.toml` in the repository is an annotated example of every setting.
//! [`FileConfig`] mirrors the file; [`Settings::load`] reads it, loads every key file and
//! checks every value, so a mistake is reported at start-up (or at reload, which then keeps
//! the running settings) with the file and the setting named.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use hanko::dkim::{Canonicalization, SigningRequest};
use hanko::keys::SigningKey;
use hanko::receiver::ReceiverConfig;
use serde::Deserialize;

/// What the milter does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Sign every message whose sender has a key; verify nothing.
    Sign,
    /// Verify every message; sign nothing.
    Verify,
    /// Sign when the client is in `trusted_networks` or authenticated with SMTP AUTH and the
    /// sender has a key; verify otherwise. The default.
    #[default]
    Auto,
}

/// What to do when the milter cannot decide (an internal error, a timeout, a message over a
/// limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// Let the message through untouched. The default: a milter problem never loses mail.
    #[default]
    Accept,
    /// Ask the client to try again later (4xx).
    Tempfail,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Plain text, colours on a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The file, as written. Every field has a documented default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where to listen: `inet:PORT@HOST` (e.g. `inet:11332@127.0.0.1`) or `unix:/path`.
    /// Default: `inet:11332@127.0.0.1`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Permissions of a `unix:` socket, in octal (`"0660"`): the MTA's user must be able to
    /// write to it (Postfix's smtpd runs as `postfix`). Default: as the process umask leaves
    /// it. Not allowed with `inet:`.
    pub socket_mode: Option<String>,
    /// Sign, verify or auto. Default: auto.
    #[serde(default)]
    pub mode: Mode,
    /// Clients whose mail is signed in auto mode, as `IP` or `IP/prefix`. Default: loopback
    /// only (`127.0.0.0/8`, `::1`).
    #[serde(default = "default_trusted")]
    pub trusted_networks: Vec<String>,
    /// What to do on an internal error or timeout. Default: accept.
    #[serde(default)]
    pub on_error: Fallback,
    /// Time allowed for the DNS work of one message (DKIM keys, SPF, DMARC), in seconds.
    /// Default: 20.
    #[serde(default = "default_message_timeout")]
    pub message_timeout: f64,
    /// Most DNS queries one message's SPF, DKIM keys, ADSP and report-destination checks may
    /// make together; past it each further query fails as a temporary error
    /// ([`ReceiverConfig::max_dns_queries`]). DMARC's policy discovery is outside it, so a
    /// sender cannot spend the queries that find the victim's policy. Default: 128.
    #[serde(default = "default_max_dns_queries")]
    pub max_dns_queries: usize,
    /// Most header fields a message may have before the milter gives up on it (and applies
    /// `on_error`). Default: 1,000.
    #[serde(default = "default_max_header_fields")]
    pub max_header_fields: usize,
    /// Most MTA connections served at once; more wait until one ends. Default: 200.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds an MTA connection may stay silent before the milter closes it. Default: 300.
    #[serde(default = "default_connection_timeout")]
    pub connection_timeout: f64,
    /// How each log line is written: `text` (default) or `json` (one object per line, with
    /// the queue id, the action and the results as fields, for log collectors). Read at start;
    /// a reload keeps the format the daemon started with.
    #[serde(default)]
    pub log_format: LogFormat,
    /// DNS settings.
    #[serde(default)]
    pub dns: DnsConfig,
    /// The signing table: which senders are signed, by which keys.
    #[serde(default)]
    pub signing: Vec<SigningRow>,
    /// Verification settings.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// ARC settings.
    #[serde(default)]
    pub arc: ArcSection,
    /// Recording DMARC evaluations for aggregate reports. Default: off.
    pub reports: Option<ReportsSection>,
}

/// `[reports]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsSection {
    /// The store evaluations are recorded in: `sqlite:PATH` or `postgres://...` (what
    /// `hanko report aggregate --db` reads).
    pub database: String,
    /// Where rows wait while the store cannot take them (JSON lines, replayed when it can).
    /// Default: `evaluations.spool` beside this file.
    pub spool: Option<PathBuf>,
    /// Rows queued for the store before further ones go to the spool. Default: 10,000.
    #[serde(default = "default_reports_queue")]
    pub queue: usize,
}

fn default_reports_queue() -> usize {
    10_000
}

/// `[arc]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArcSection {
    /// Validate ARC chains on incoming mail (`arc=` in Authentication-Results). Default: true.
    #[serde(default = "yes")]
    pub verify: bool,
    /// ARC sealers (ARC-Seal `d=`) whose record of a message's authentication is believed:
    /// a DMARC failure of a message whose chain validates, sealed last by one of them, whose
    /// oldest trusted hop recorded the author as authenticated, is not enforced (the
    /// Authentication-Results comment says so). Default: none.
    #[serde(default)]
    pub trusted_sealers: Vec<String>,
    /// Seal verified mail: after the checks, add an ARC set with this host's results, for a
    /// host that forwards what it receives (aliases, a mailing list's inbound side). Needs
    /// `domain`, `selector` and `key`. Default: false.
    #[serde(default)]
    pub seal: bool,
    /// `d=` of the sealer.
    pub domain: Option<String>,
    /// `s=` of the sealing key.
    pub selector: Option<String>,
    /// The sealing key file (RSA is what Gmail and Microsoft verify).
    pub key: Option<PathBuf>,
    /// Header fields the ARC-Message-Signature signs. Default: the DKIM signer's list.
    pub headers: Option<Vec<String>>,
}

impl Default for ArcSection {
    fn default() -> Self {
        toml::from_str("").expect("every [arc] setting has a default")
    }
}

/// `[dns]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// Servers to ask, `IP:PORT`. Default: the system's (`/etc/resolv.conf`).
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Seconds for one query, retries included. Default: 5.
    pub timeout: Option<f64>,
    /// Answer from these zone files instead of the network (offline setups and tests).
    #[serde(default)]
    pub zone_files: Vec<PathBuf>,
}

/// One row of the signing table (`[[signing]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningRow {
    /// Which senders (the From address) the row applies to: `example.com` (that domain),
    /// `*.example.com` (its subdomains), `*` (everyone), or an address `user@example.com`.
    pub sender: String,
    /// `d=`. Default: the sender's domain.
    pub domain: Option<String>,
    /// `s=`.
    pub selector: String,
    /// The private key file (PEM: PKCS#8, PKCS#1 RSA, or an Ed25519 seed).
    pub key: PathBuf,
    /// `c=`. Default: `relaxed/relaxed`.
    pub canonicalization: Option<String>,
    /// Header fields to sign. Default: RFC 6376 §5.4.1's list, those present.
    pub headers: Option<Vec<String>>,
    /// Fields signed once more than present, so none can be added. Default: `["From"]`.
    pub oversign: Option<Vec<String>>,
    /// Seconds until the signature expires (`x=`). Default: none.
    pub expire: Option<u64>,
}

/// `[verify]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// The authserv-id written in Authentication-Results. Default: the host name.
    pub authserv_id: Option<String>,
    /// Remove incoming Authentication-Results that claim our authserv-id (forged, or left by
    /// an earlier pass). Default: true.
    #[serde(default = "yes")]
    pub remove_forged_results: bool,
    /// Evaluate SPF for the connecting client. Default: true.
    #[serde(default = "yes")]
    pub spf: bool,
    /// Check ADSP (RFC 5617, historic). Default: false.
    #[serde(default)]
    pub adsp: bool,
    /// Reject messages that fail DMARC when the owner asks for `reject`. Default: false.
    #[serde(default)]
    pub dmarc_reject: bool,
    /// Quarantine (hold in the MTA's queue) messages that fail DMARC with `quarantine`.
    /// Default: false.
    #[serde(default)]
    pub dmarc_quarantine: bool,
    /// The SMTP reply for a DMARC rejection. Default:
    /// `550 5.7.1 rejected by the DMARC policy of <domain>`.
    pub reject_reply: Option<String>,
    /// What to do when a DNS failure leaves DMARC at temperror. Default: accept.
    #[serde(default)]
    pub on_dns_temperror: Fallback,
    /// What a From that cannot be read in full counts as, for `dmarc_reject` and
    /// `dmarc_quarantine`. Default: `strictest-policy`.
    #[serde(default)]
    pub unreadable_from: UnreadableFrom,
}

/// `[verify] unreadable_from`: see [`hanko::dmarc::UnreadableAuthors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UnreadableFrom {
    /// The strictest policy a readable author publishes (too many authors: reject).
    #[default]
    StrictestPolicy,
    /// Reject (as far as `dmarc_reject` allows).
    Reject,
    /// Only readable authors that fail count.
    Ignore,
}

impl From<UnreadableFrom> for hanko::dmarc::UnreadableAuthors {
    fn from(setting: UnreadableFrom) -> Self {
        match setting {
            UnreadableFrom::StrictestPolicy => hanko::dmarc::UnreadableAuthors::StrictestPolicy,
            UnreadableFrom::Reject => hanko::dmarc::UnreadableAuthors::Reject,
            UnreadableFrom::Ignore => hanko::dmarc::UnreadableAuthors::Ignore,
        }
    }
}

impl Default for VerifyConfig {
    fn default() -> Self {
        toml::from_str("").expect("every [verify] setting has a default")
    }
}

fn yes() -> bool {
    true
}
fn default_listen() -> String {
    "inet:11332@127.0.0.1".into()
}
fn default_trusted() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1".into()]
}
fn default_message_timeout() -> f64 {
    20.0
}
fn default_max_dns_queries() -> usize {
    ReceiverConfig::DEFAULT_MAX_DNS_QUERIES
}
fn default_max_header_fields() -> usize {
    1_000
}

fn default_max_connections() -> usize {
    200
}

fn default_connection_timeout() -> f64 {
    300.0
}

/// An IP network, `IP/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The address.
    pub address: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Network {
    /// Parses `IP` or `IP/prefix`.
    pub fn parse(text: &str) -> Option<Network> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, prefix)) => (ip, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let address: IpAddr = ip.trim().parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { address, prefix })
    }

    /// True when `ip` is inside the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Who a signing row applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderPattern {
    /// Everyone (`*`).
    Any,
    /// One domain.
    Domain(String),
    /// Every subdomain of a domain (`*.example.com`), not the domain itself.
    Subdomains(String),
    /// One address.
    Address(String),
}

impl SenderPattern {
    fn parse(text: &str) -> Option<SenderPattern> {
        let text = text.trim().to_ascii_lowercase();
        if text == "*" {
            Some(SenderPattern::Any)
        } else if let Some(domain) = text.strip_prefix("*.") {
            (!domain.is_empty()).then(|| SenderPattern::Subdomains(domain.to_string()))
        } else if text.contains('@') {
            Some(SenderPattern::Address(text))
        } else if !text.is_empty() {
            Some(SenderPattern::Domain(text))
        } else {
            None
        }
    }

    /// True when the pattern covers the address `local@domain` (both lower case).
    pub fn matches(&self, address: &str, domain: &str) -> bool {
        match self {
            SenderPattern::Any => true,
            SenderPattern::Domain(d) => d == domain,
            SenderPattern::Subdomains(d) => domain.ends_with(&format!(".{d}")),
            SenderPattern::Address(a) => a == address,
        }
    }
}

/// A signing row with its key loaded.
#[derive(Debug, Clone)]
pub struct SigningEntry {
    /// Who it applies to.
    pub sender: SenderPattern,
    /// `d=`; `None` means the sender's domain.
    pub domain: Option<String>,
    /// `s=`.
    pub selector: String,
    /// The key.
    pub key: SigningKey,
    /// The key file, for log lines.
    pub key_file: PathBuf,
    /// `c=`.
    pub canonicalization: Canonicalization,
    /// Fields to sign (`None`: the default list).
    pub headers: Option<Vec<String>>,
    /// Fields to oversign.
    pub oversign: Vec<String>,
    /// `x=` after this many seconds.
    pub expire: Option<u64>,
}

impl SigningEntry {
    /// The signing request for a message from `domain`.
    pub fn request(&self, sender_domain: &str) -> Result<SigningRequest, hanko::dkim::SignError> {
        let domain = self.domain.as_deref().unwrap_or(sender_domain);
        let mut request = SigningRequest::new(&self.key, domain, &self.selector)?;
        request.canonicalization = self.canonicalization;
        request.headers = self.headers.clone();
        request.oversign = self.oversign.clone();
        request.expire_after = self.expire;
        Ok(request)
    }
}

/// Everything the milter runs with: the file checked, keys loaded.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from.
    pub path: PathBuf,
    /// The file's values.
    pub file: FileConfig,
    /// `trusted_networks`, parsed.
    pub trusted: Vec<Network>,
    /// The signing table, keys loaded, in file order.
    pub signing: Vec<SigningEntry>,
    /// The authserv-id.
    pub authserv_id: String,
    /// The authserv-id as an incoming field's first token is compared with it
    /// ([`hanko::authres::claimed_authserv_id`]: lower case, no trailing dot).
    pub claimed_id: String,
    /// `message_timeout`.
    pub message_timeout: Duration,
    /// `socket_mode`, parsed.
    pub socket_mode: Option<u32>,
    /// The receiver's configuration for incoming mail: the authserv-id, ADSP as `[verify]`
    /// asks, and DKIM key records and SPF policies kept parsed across messages (found again
    /// by their text, so a changed record is parsed anew).
    pub receiver: ReceiverConfig,
    /// `[arc] seal`: the sealer's settings, key loaded.
    pub arc_sealer: Option<hanko::arc::SealRequest>,
    /// `[reports]`, paths resolved. Read at start: a reload does not change where
    /// evaluations are recorded.
    pub reports: Option<crate::recorder::ReportsSettings>,
}

impl Settings {
    /// Reads and checks the file at `path` and loads its keys.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Settings::from_text(&text, path)
    }

    /// Checks `text` as the file at `path` (key paths are relative to its folder).
    pub fn from_text(text: &str, path: &Path) -> anyhow::Result<Settings> {
        let file: FileConfig =
            toml::from_str(text).with_context(|| format!("{}", path.display()))?;
        let at = |what: String| format!("{}: {what}", path.display());
        let mut trusted = Vec::new();
        for net in &file.trusted_networks {
            match Network::parse(net) {
                Some(n) => trusted.push(n),
                None => bail!(at(format!(
                    "trusted_networks: {net:?} is not IP or IP/prefix"
                ))),
            }
        }
        if !(file.message_timeout > 0.0 && file.message_timeout <= 600.0) {
            bail!(at(
                "message_timeout must be between 0 and 600 seconds".into()
            ));
        }
        if !(file.connection_timeout > 0.0 && file.connection_timeout <= 86_400.0) {
            bail!(at(
                "connection_timeout must be between 0 and 86400 seconds".into()
            ));
        }
        if !(1..=10_000).contains(&file.max_dns_queries) {
            bail!(at("max_dns_queries must be between 1 and 10000".into()));
        }
        if file.max_connections == 0 {
            bail!(at("max_connections must be at least 1".into()));
        }
        let listen =
            crate::listen::ListenAddr::parse(&file.listen).map_err(|e| anyhow::anyhow!(at(e)))?;
        let socket_mode = match (&file.socket_mode, &listen) {
            (None, _) => None,
            (Some(mode), crate::listen::ListenAddr::Unix(_)) => {
                match u32::from_str_radix(mode, 8) {
                    Ok(bits) if bits <= 0o777 => Some(bits),
                    _ => bail!(at(format!(
                        "socket_mode {mode:?} is not octal permissions such as \"0660\""
                    ))),
                }
            }
            (Some(_), _) => bail!(at("socket_mode applies only to a unix: socket".into())),
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut signing = Vec::new();
        for (index, row) in file.signing.iter().enumerate() {
            let row_name = format!("[[signing]] #{} ({})", index + 1, row.sender);
            let sender = SenderPattern::parse(&row.sender)
                .ok_or_else(|| anyhow::anyhow!(at(format!("{row_name}: empty sender"))))?;
            let key_file = base.join(&row.key);
            let pem = std::fs::read(&key_file).with_context(|| {
                at(format!(
                    "{row_name}: cannot read key {}",
                    key_file.display()
                ))
            })?;
            let key = SigningKey::from_pem(&pem)
                .with_context(|| at(format!("{row_name}: key {}", key_file.display())))?;
            let canonicalization = match &row.canonicalization {
                None => Canonicalization::RELAXED,
                Some(c) => Canonicalization::parse(c).ok_or_else(|| {
                    anyhow::anyhow!(at(format!(
                        "{row_name}: canonicalization {c:?} is not simple or relaxed as header/body"
                    )))
                })?,
            };
            let entry = SigningEntry {
                sender,
                domain: row.domain.clone(),
                selector: row.selector.clone(),
                key,
                key_file,
                canonicalization,
                headers: row.headers.clone(),
                oversign: row.oversign.clone().unwrap_or_else(|| vec!["From".into()]),
                expire: row.expire,
            };
            // A row with a fixed d= must make a valid request now, not at the first message.
            if let Some(domain) = &entry.domain {
                entry
                    .request(domain)
                    .map_err(|e| anyhow::anyhow!(at(format!("{row_name}: {e}"))))?;
            }
            signing.push(entry);
        }
        let authserv_id = match &file.verify.authserv_id {
            Some(id) => id.clone(),
            None => host_name(),
        };
        let claimed_id = hanko::authres::claimed_authserv_id(&authserv_id).unwrap_or_default();
        let mut receiver = ReceiverConfig::new(&authserv_id);
        receiver.adsp = file.verify.adsp;
        receiver.max_dns_queries = file.max_dns_queries;
        if !file.arc.verify {
            receiver.arc = None;
        }
        receiver.trusted_arc_sealers = file.arc.trusted_sealers.clone();
        let arc_sealer = match (&file.arc, file.arc.seal) {
            (_, false) => None,
            (
                ArcSection {
                    domain: Some(domain),
                    selector: Some(selector),
                    key: Some(key),
                    headers,
                    ..
                },
                true,
            ) => {
                let key_file = base.join(key);
                let pem = std::fs::read(&key_file).with_context(|| {
                    at(format!("[arc]: cannot read key {}", key_file.display()))
                })?;
                let key = SigningKey::from_pem(&pem)
                    .with_context(|| at(format!("[arc]: key {}", key_file.display())))?;
                let mut request = hanko::arc::SealRequest::new(&key, domain, selector)
                    .map_err(|e| anyhow::anyhow!(at(format!("[arc]: {e}"))))?;
                request.headers = headers.clone();
                Some(request)
            }
            _ => bail!(at("[arc] seal = true needs domain, selector and key".into())),
        };
        let reports = file
            .reports
            .as_ref()
            .map(|r| crate::recorder::ReportsSettings {
                database: r.database.clone(),
                spool: base.join(
                    r.spool
                        .clone()
                        .unwrap_or_else(|| "evaluations.spool".into()),
                ),
                queue: r.queue,
            });
        Ok(Settings {
            reports,
            path: path.to_path_buf(),
            trusted,
            signing,
            authserv_id,
            claimed_id,
            receiver,
            arc_sealer,
            message_timeout: Duration::from_secs_f64(file.message_timeout),
            socket_mode,
            file,
        })
    }

    /// True when `ip` is in `trusted_networks`.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }

    /// The signing rows for the From address `address` (lower case): every row of the first
    /// pattern that matches, so one sender can have an RSA and an Ed25519 row.
    pub fn signing_for(&self, address: &str) -> Vec<&SigningEntry> {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        let Some(first) = self
            .signing
            .iter()
            .find(|e| e.sender.matches(address, domain))
        else {
            return Vec::new();
        };
        self.signing
            .iter()
            .filter(|e| e.sender == first.sender)
            .collect()
    }
}

/// The host name, for the default authserv-id.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let net = Network::parse("192.0.2.0/24").unwrap();
        assert!(net.contains("192.0.2.77".parse().unwrap()));
        assert!(!net.contains("192.0.3.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.0.2.1".parse().unwrap()));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("192.0.2.1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert_eq!(Network::parse("192.0.2.0/33"), None);
        assert_eq!(Network::parse("nonsense"), None);
        assert!(Network::parse("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));
    }

    #[test]
    fn sender_patterns() {
        let p = |s: &str| SenderPattern::parse(s).unwrap();
        assert!(p("example.com").matches("a@example.com", "example.com"));
        assert!(!p("example.com").matches("a@sub.example.com", "sub.example.com"));
        assert!(p("*.example.com").matches("a@sub.example.com", "sub.example.com"));
        assert!(!p("*.example.com").matches("a@example.com", "example.com"));
        assert!(p("A@Example.com").matches("a@example.com", "example.com"));
        assert!(p("*").matches("x@y", "y"));
    }

    #[test]
    fn defaults_and_errors_name_the_setting() {
        let path = Path::new("/nonexistent/hanko-milter.toml");
        let s = Settings::from_text("", path).unwrap();
        assert_eq!(s.file.mode, Mode::Auto);
        assert_eq!(s.file.listen, "inet:11332@127.0.0.1");
        assert!(s.is_trusted("127.0.0.1".parse().unwrap()));
        assert!(!s.is_trusted("192.0.2.1".parse().unwrap()));
        assert!(s.file.verify.remove_forged_results && s.file.verify.spf);
        assert!(!s.file.verify.dmarc_reject);
        let err = Settings::from_text("mode = \"both\"", path).unwrap_err();
        assert!(format!("{err:#}").contains("mode"), "{err:#}");
        let err = Settings::from_text("trusted_networks = [\"10.0.0.0/99\"]", path).unwrap_err();
        assert!(format!("{err:#}").contains("10.0.0.0/99"), "{err:#}");
        let err = Settings::from_text(
            "[[signing]]\nsender = \"example.com\"\nselector = \"s\"\nkey = \"missing.key\"\n",
            path,
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("/nonexistent/missing.key") && text.contains("#1"),
            "{text}"
        );
        assert_eq!(
            s.receiver.max_dns_queries,
            ReceiverConfig::DEFAULT_MAX_DNS_QUERIES
        );
        let s = Settings::from_text("max_dns_queries = 40", path).unwrap();
        assert_eq!(s.receiver.max_dns_queries, 40);
        for bad in ["0", "10001", "-1"] {
            let err = Settings::from_text(&format!("max_dns_queries = {bad}"), path).unwrap_err();
            assert!(format!("{err:#}").contains("max_dns_queries"), "{err:#}");
        }
        let err = Settings::from_text("colour = \"blue\"", path).unwrap_err();
        assert!(format!("{err:#}").contains("colour"), "{err:#}");
        let err = Settings::from_text("listen = \"tcp:25\"", path).unwrap_err();
        assert!(format!("{err:#}").contains("tcp:25"), "{err:#}");
    }

    #[test]
    fn socket_mode_is_octal_and_only_for_unix_sockets() {
        let path = Path::new("/nonexistent/hanko-milter.toml");
        let unix = |mode: &str| {
            Settings::from_text(
                &format!("listen = \"unix:/run/m.sock\"\nsocket_mode = \"{mode}\""),
                path,
            )
        };
        assert_eq!(unix("0660").unwrap().socket_mode, Some(0o660));
        assert_eq!(unix("666").unwrap().socket_mode, Some(0o666));
        for bad in ["0968", "rw-rw----", "1777", ""] {
            let err = unix(bad).unwrap_err();
            assert!(format!("{err:#}").contains("socket_mode"), "{bad}: {err:#}");
        }
        let err = Settings::from_text("socket_mode = \"0660\"", path).unwrap_err();
        assert!(format!("{err:#}").contains("only to a unix"), "{err:#}");
        assert_eq!(Settings::from_text("", path).unwrap().socket_mode, None);
    }
}
