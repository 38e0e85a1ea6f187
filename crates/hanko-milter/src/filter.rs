//! What the milter does with one message, apart from the milter protocol: it is fed the
//! SMTP facts, the header fields and the body chunks in message order, and at the end returns
//! a [`Decision`] — headers to add and remove, and whether to accept, reject, tempfail or
//! quarantine. The protocol glue (`milter.rs`) only translates.
//!
//! The body is never kept: each chunk goes through the DKIM signer or verifier's hashers and
//! is dropped, so memory per message is the header section plus a constant.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use hanko::arc::{ArcSealer, ChainStatus};
use hanko::authres::{claimed_authserv_id, AuthenticationResults};
use hanko::dkim::Signer;
use hanko::dmarc::{DmarcVerdict, Policy};
use hanko::dns::Lookup;
use hanko::message::{parse_mailboxes, CrlfNormalizer, HeaderField, Headers};
use hanko::receiver::{self, HeaderOverflow, Receiver};

use crate::config::{Fallback, Mode, Settings};
use crate::deadline::Deadline;

/// The DNS lookup the milter shares between messages.
pub type SharedLookup = Arc<dyn Lookup + Send + Sync>;

/// What the MTA should do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Deliver (with the header changes).
    Accept,
    /// Refuse with this SMTP reply (`550`, `5.7.1`, text).
    Reject {
        /// The reply code.
        code: String,
        /// The enhanced status code.
        status: String,
        /// The text.
        text: String,
    },
    /// Ask the client to retry later.
    Tempfail,
    /// Accept, but hold in the MTA's quarantine (Postfix: the hold queue) for this reason.
    Quarantine(String),
}

/// The end of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// Fields to insert at the top, in order (the first ends up topmost): name, and value
    /// with its leading space and LF folding, as the milter protocol carries it.
    pub insert: Vec<(String, String)>,
    /// Fields to remove: name and 1-based index among the fields of that name, highest index
    /// first so that earlier removals do not shift later ones.
    pub remove: Vec<(String, usize)>,
    /// One line for the log: mode and results.
    pub summary: String,
    /// The DMARC evaluations of a verified message, for `[reports]`.
    pub evaluations: Vec<hanko::receiver::Evaluation>,
}

impl Decision {
    fn untouched(action: Action, summary: String) -> Decision {
        Decision {
            action,
            insert: Vec::new(),
            remove: Vec::new(),
            summary,
            evaluations: Vec::new(),
        }
    }
}

/// The SMTP session the message arrives in.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The client's IP address, when it connected over IP.
    pub client_ip: Option<IpAddr>,
    /// The HELO/EHLO name.
    pub helo: String,
    /// MAIL FROM without angle brackets (empty for a bounce).
    pub mail_from: String,
    /// True when the client authenticated with SMTP AUTH.
    pub authenticated: bool,
}

enum Stage {
    /// Collecting header fields.
    Headers,
    Signing(Box<Signer>),
    /// Verifying, through the library's receiver pipeline, and sealing after it when
    /// `[arc] seal` asks (or why not, for the log).
    Verifying(Box<Receiver>, Result<Box<ArcSealer>, String>),
    /// Nothing to do for this message (why, for the log).
    Ignoring(String),
    /// Something went wrong; `on_error` applies (why, for the log).
    Failed(String),
}

/// One message in progress.
pub struct MessageFilter {
    settings: Arc<Settings>,
    lookup: SharedLookup,
    envelope: Envelope,
    headers: Headers,
    header_bytes: usize,
    normalizer: CrlfNormalizer,
    chunk: Vec<u8>,
    stage: Stage,
    /// Set when the header section went over a limit: from then on only From fields are kept.
    overflow: Option<HeaderOverflow>,
    /// From fields kept after the limit, and their octets.
    late_from_fields: usize,
    late_from_bytes: usize,
    /// False when From fields past the limit went over their own bounds and were dropped.
    from_fields_complete: bool,
    /// The 1-based indexes of the incoming Authentication-Results fields that claim our
    /// authserv-id (RFC 8601 §5: only we may write them), in order.
    forged: Vec<usize>,
    /// Fields seen so far per lower-case name, to address a field by its index among those
    /// of its name.
    seen_by_name: HashMap<String, usize>,
    /// Fields that carry an Authentication-Results claiming our authserv-id behind a bare
    /// CR (`X-Note: hi<CR>Authentication-Results: ...`): the MTA sees one field, readers see
    /// the forged one. Name and 1-based index among the fields of that name.
    carriers: Vec<(String, usize)>,
}

/// Most octets of header section the milter keeps (the fields themselves; the body is not
/// kept at all). Past it, or past `max_header_fields`, the message is still checked: DKIM is
/// `permerror`, SPF and DMARC run on the From fields kept.
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

/// How long past `message_timeout` the verification may take before the milter gives up on
/// it as an internal fault (`on_error`): DNS has stopped by then, so only work that is not
/// DNS can still be running.
const INTERNAL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Most From fields kept after the header section went over a limit, and their octets. More
/// make the From unreadable in part, which `unreadable_from` (default) counts as `reject`.
pub const MAX_LATE_FROM_FIELDS: usize = 50;
/// See [`MAX_LATE_FROM_FIELDS`].
pub const MAX_LATE_FROM_BYTES: usize = 64 * 1024;

impl MessageFilter {
    /// Starts a message (at MAIL FROM).
    pub fn new(settings: Arc<Settings>, lookup: SharedLookup, envelope: Envelope) -> Self {
        MessageFilter {
            lookup,
            envelope,
            headers: Headers::new(),
            header_bytes: 0,
            normalizer: CrlfNormalizer::new(),
            chunk: Vec::new(),
            stage: Stage::Headers,
            overflow: None,
            late_from_fields: 0,
            late_from_bytes: 0,
            from_fields_complete: true,
            forged: Vec::new(),
            seen_by_name: HashMap::new(),
            carriers: Vec::new(),
            settings,
        }
    }

    /// One header field; `value` as the MTA sends it with its leading space (negotiated) and
    /// LF or CRLF folding.
    pub fn header(&mut self, name: &[u8], value: &[u8]) {
        // Fields are removed by name and index among those of the name, so every field is
        // counted, whatever stops the rest.
        let index = {
            let lower_name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let count = self.seen_by_name.entry(lower_name).or_insert(0);
            *count += 1;
            *count
        };
        // Forged results are found by name and first token alone.
        let ours = |value: &str| {
            claimed_authserv_id(value).is_some_and(|id| id == self.settings.claimed_id)
        };
        if name.eq_ignore_ascii_case(b"Authentication-Results")
            && ours(&String::from_utf8_lossy(value))
        {
            self.forged.push(index);
        }
        // One forged behind a bare CR goes with the field that carries it: the MTA knows no
        // other field to remove.
        if value.contains(&b'\r') {
            let hidden_forgery = std::str::from_utf8(name)
                .ok()
                .and_then(|name| HeaderField::from_parts(name, &CrlfNormalizer::normalize(value)))
                .filter(HeaderField::hides_fields)
                .is_some_and(|field| {
                    field.split_at_bare_cr().iter().skip(1).any(|hidden| {
                        hidden.name().eq_ignore_ascii_case("Authentication-Results")
                            && ours(&hidden.unfolded_value())
                    })
                });
            if hidden_forgery {
                self.carriers
                    .push((String::from_utf8_lossy(name).into_owned(), index));
            }
        }
        if !matches!(self.stage, Stage::Headers) {
            return;
        }
        self.header_bytes += name.len() + value.len() + 3;
        let max_fields = self.settings.file.max_header_fields;
        if self.overflow.is_none() {
            if self.headers.len() >= max_fields {
                self.overflow = Some(HeaderOverflow::Fields(max_fields));
            } else if self.header_bytes > MAX_HEADER_BYTES {
                self.overflow = Some(HeaderOverflow::Octets(MAX_HEADER_BYTES));
            }
        }
        if self.overflow.is_some() {
            // Past a limit only From fields are kept, for DMARC, within bounds of their own.
            if !name.eq_ignore_ascii_case(b"From") {
                return;
            }
            self.late_from_bytes += value.len();
            if self.late_from_fields >= MAX_LATE_FROM_FIELDS
                || self.late_from_bytes > MAX_LATE_FROM_BYTES
            {
                self.from_fields_complete = false;
                return;
            }
            self.late_from_fields += 1;
        }
        let value = CrlfNormalizer::normalize(value);
        let field = std::str::from_utf8(name)
            .ok()
            .and_then(|name| HeaderField::from_parts(name, &value));
        match field {
            // A bare CR can hide a field that readers see (RFC 5322 §2.2): keep it apart.
            Some(field) if field.hides_fields() => {
                for field in field.split_at_bare_cr() {
                    self.headers.push(field);
                }
            }
            Some(field) => self.headers.push(field),
            None => {
                self.stage = Stage::Failed(format!(
                    "header field name {:?} is not valid",
                    String::from_utf8_lossy(name)
                ))
            }
        }
    }

    /// The end of the header section: decides between signing, verifying and neither.
    pub fn end_of_headers(&mut self) {
        if !matches!(self.stage, Stage::Headers) {
            return;
        }
        let settings = &self.settings;
        let author = self
            .headers
            .named("From")
            .next()
            .and_then(|f| parse_mailboxes(&f.unfolded_value()).ok())
            .and_then(|list| list.into_iter().next())
            .map(|m| format!("{}@{}", m.local_part, m.domain).to_ascii_lowercase());
        let rows = author
            .as_deref()
            .map(|a| settings.signing_for(a))
            .unwrap_or_default();
        let trusted = self.envelope.authenticated
            || self
                .envelope
                .client_ip
                .is_some_and(|ip| settings.is_trusted(ip));
        let sign = match settings.file.mode {
            Mode::Sign => true,
            Mode::Verify => false,
            Mode::Auto => trusted,
        };
        if let (Some(overflow), true) = (self.overflow, sign) {
            self.stage = Stage::Failed(format!("{overflow}; not signed"));
            return;
        }
        if !sign {
            let sealer = match (&settings.arc_sealer, self.overflow) {
                (None, _) => Err(String::new()),
                (Some(_), Some(overflow)) => Err(format!("not sealed: {overflow}")),
                (Some(request), None) => ArcSealer::new(&self.headers, request.clone())
                    .map(Box::new)
                    .map_err(|e| format!("not sealed: {e}")),
            };
            let headers = std::mem::take(&mut self.headers);
            let receiver = match self.overflow {
                None => Receiver::new(&settings.receiver, headers),
                Some(overflow) => Receiver::with_incomplete_headers(
                    &settings.receiver,
                    headers,
                    overflow,
                    self.from_fields_complete,
                ),
            };
            self.stage = Stage::Verifying(Box::new(receiver), sealer);
            return;
        }
        let Some(author) = author else {
            self.stage = Stage::Ignoring("no From address to choose a key by".into());
            return;
        };
        if rows.is_empty() {
            self.stage = Stage::Ignoring(format!("no signing key for {author}"));
            return;
        }
        let domain = author.rsplit_once('@').map_or("", |(_, d)| d).to_string();
        let requests: Result<Vec<_>, _> = rows.iter().map(|row| row.request(&domain)).collect();
        self.stage = match requests.and_then(|r| Signer::new(&self.headers, r)) {
            Ok(signer) => Stage::Signing(Box::new(signer)),
            Err(e) => Stage::Failed(format!("cannot sign for {author}: {e}")),
        };
    }

    /// One body chunk (any line ends; bare LF becomes CRLF as on the wire).
    pub fn body(&mut self, chunk: &[u8]) {
        self.chunk.clear();
        self.normalizer.push(chunk, &mut self.chunk);
        match &mut self.stage {
            Stage::Signing(signer) => signer.body(&self.chunk),
            Stage::Verifying(receiver, sealer) => {
                receiver.body(&self.chunk);
                if let Ok(sealer) = sealer {
                    sealer.body(&self.chunk);
                }
            }
            Stage::Headers | Stage::Ignoring(_) | Stage::Failed(_) => {}
        }
    }

    /// The end of the message: signs, or verifies and decides. `now` is the Unix time.
    /// DNS work is bounded by the settings' `message_timeout`.
    pub async fn end_of_message(mut self, now: u64) -> Decision {
        if matches!(self.stage, Stage::Headers) {
            // A message without a body: the MTA skipped end-of-headers.
            self.end_of_headers();
        }
        let fallback = self.settings.file.on_error;
        let timeout = self.settings.message_timeout;
        let stage = std::mem::replace(&mut self.stage, Stage::Ignoring(String::new()));
        let mut decision = match stage {
            // end_of_headers always leaves the Headers stage; should it not, pass untouched.
            Stage::Headers => Decision::untouched(Action::Accept, "ignored: no headers".into()),
            Stage::Ignoring(why) => Decision::untouched(Action::Accept, format!("ignored: {why}")),
            Stage::Failed(why) => failed(fallback, why),
            Stage::Signing(signer) => match signer.finish(now) {
                Ok(fields) => {
                    let names: Vec<String> = fields
                        .iter()
                        .map(|f| {
                            let sig = hanko::dkim::Signature::parse(f.value()).ok();
                            sig.map_or_else(String::new, |s| {
                                format!("d={} s={} a={}", s.domain, s.selector, s.algorithm)
                            })
                        })
                        .collect();
                    Decision {
                        action: Action::Accept,
                        insert: fields.iter().map(milter_field).collect(),
                        remove: Vec::new(),
                        summary: format!("signed: {}", names.join(", ")),
                        evaluations: Vec::new(),
                    }
                }
                Err(e) => failed(fallback, format!("signing failed: {e}")),
            },
            Stage::Verifying(receiver, sealer) => {
                // DNS stops at the deadline and the receiver finishes with temperrors; the
                // outer limit only catches work that is not DNS (an internal fault).
                let deadline = tokio::time::Instant::now() + timeout;
                let verify = self.verify(*receiver, sealer, now, deadline);
                match tokio::time::timeout(timeout + INTERNAL_GRACE, verify).await {
                    Ok(decision) => decision,
                    Err(_) => failed(
                        fallback,
                        format!("verification took over {} s", timeout.as_secs_f64()),
                    ),
                }
            }
        };
        // On every path, signing and errors included: a local user must not hand a colleague
        // a "verified" message, and a limit must not keep a forged field in place.
        if self.settings.file.verify.remove_forged_results
            && !(self.forged.is_empty() && self.carriers.is_empty())
        {
            let mut remove: Vec<(String, usize)> = self
                .forged
                .iter()
                .map(|index| ("Authentication-Results".to_string(), *index))
                .chain(self.carriers.iter().cloned())
                .collect();
            // Highest index first within a name (names compare without case), so that each
            // removal leaves the indexes still to come in place.
            let key = |(name, index): &(String, usize)| (name.to_ascii_lowercase(), *index);
            remove.sort_by(|a, b| {
                let (a, b) = (key(a), key(b));
                a.0.cmp(&b.0).then(b.1.cmp(&a.1))
            });
            remove.dedup_by(|a, b| key(a) == key(b));
            let removed = remove.len();
            decision.remove = remove;
            decision.summary.push_str(&format!(
                "; removed {removed} field(s) carrying Authentication-Results claiming {}",
                self.settings.authserv_id
            ));
        }
        decision
    }

    async fn verify(
        &self,
        receiver: Receiver,
        sealer: Result<Box<ArcSealer>, String>,
        now: u64,
        deadline: tokio::time::Instant,
    ) -> Decision {
        let settings = &self.settings;
        let verify = &settings.file.verify;
        let connection = match self.envelope.client_ip {
            Some(ip) if verify.spf => Some(receiver::Connection {
                ip,
                helo: &self.envelope.helo,
                mail_from: &self.envelope.mail_from,
                received_field: None,
            }),
            _ => None,
        };
        let lookup = Deadline::new(&*self.lookup, deadline);
        let receipt = receiver.finish(&lookup, connection, now).await;
        let field = receipt.authentication_results();
        let dmarc = &receipt.dmarc;
        let words: Vec<String> = field
            .results
            .iter()
            .map(|r| format!("{}={}", r.method, r.result))
            .collect();
        let mut summary = format!("verified: {}", words.join(" "));
        // The deciding author, or for a From read only in part, the first readable one.
        let domain = dmarc
            .author_domain
            .as_deref()
            .or(dmarc.evaluations.first().map(|e| e.author_domain.as_str()))
            .unwrap_or("the From domain")
            .to_string();
        let action = match receipt.enforced_policy(verify.unreadable_from.into()) {
            Policy::Reject if verify.dmarc_reject => {
                reject_reply(verify.reject_reply.as_deref(), &domain)
            }
            Policy::Quarantine if verify.dmarc_quarantine => {
                Action::Quarantine(format!("DMARC policy of {domain}: quarantine"))
            }
            _ if dmarc.verdict == DmarcVerdict::TempError
                && verify.on_dns_temperror == Fallback::Tempfail =>
            {
                Action::Tempfail
            }
            _ => Action::Accept,
        };
        let mut insert = Vec::new();
        // A refused message is not forwarded: no set for it.
        match sealer {
            Ok(_) if matches!(action, Action::Reject { .. }) => {}
            Ok(sealer) => {
                let text = field.to_field();
                let results = text.split_once(':').map_or("", |(_, v)| v.trim());
                let chain = receipt
                    .arc
                    .as_ref()
                    .map_or(ChainStatus::None, |arc| arc.status());
                match sealer.finish(chain, results, now) {
                    Ok(set) => {
                        summary.push_str(&format!(
                            "; sealed i={} cv={}",
                            set.instance, set.chain_status
                        ));
                        insert.extend(set.fields().into_iter().map(milter_field));
                    }
                    Err(e) => summary.push_str(&format!("; not sealed: {e}")),
                }
            }
            Err(why) if !why.is_empty() => summary.push_str(&format!("; {why}")),
            Err(_) => {}
        }
        insert.push(milter_field_text(&field));
        Decision {
            action,
            insert,
            remove: Vec::new(),
            summary,
            evaluations: if self.settings.reports.is_some() {
                receipt.evaluations(now)
            } else {
                Vec::new()
            },
        }
    }
}

fn failed(fallback: Fallback, why: String) -> Decision {
    let action = match fallback {
        Fallback::Accept => Action::Accept,
        Fallback::Tempfail => Action::Tempfail,
    };
    Decision::untouched(action, format!("error: {why}"))
}

/// `550 5.7.1 text` from the configured reply, or the default.
fn reject_reply(configured: Option<&str>, domain: &str) -> Action {
    let default = format!("rejected by the DMARC policy of {domain}");
    let text = configured.unwrap_or(&default);
    let mut parts = text.splitn(3, ' ');
    let (a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let is_code =
        |s: &str| s.len() == 3 && s.starts_with('5') && s.bytes().all(|c| c.is_ascii_digit());
    let is_status = |s: &str| s.starts_with("5.") && s.split('.').count() == 3;
    if is_code(a) && is_status(b) {
        Action::Reject {
            code: a.into(),
            status: b.into(),
            text: parts.next().unwrap_or("").to_string(),
        }
    } else {
        Action::Reject {
            code: "550".into(),
            status: "5.7.1".into(),
            text: text.to_string(),
        }
    }
}

/// A field as the milter protocol adds it: the name, and the value with its leading space
/// and LF line ends.
fn milter_field(field: &HeaderField) -> (String, String) {
    let value = String::from_utf8_lossy(field.value()).replace("\r\n", "\n");
    (field.name().to_string(), value)
}

fn milter_field_text(field: &AuthenticationResults) -> (String, String) {
    let text = field.to_field();
    let (name, value) = text
        .split_once(':')
        .unwrap_or(("Authentication-Results", ""));
    (name.to_string(), value.replace("\r\n", "\n"))
}
