//! The receiver pipeline: what a receiving server checks for one message, in message order.
//! Every caller goes through it: `hanko verify` (one message or many), the milter, and the
//! header analyzer (in headers-only mode).
//!
//! A [`Receiver`] is made from a [`ReceiverConfig`] and the header section, fed the body
//! chunks as they arrive (each goes through the DKIM body hashers and is dropped), and
//! finished with the DNS lookup, the SMTP connection and the time. [`Receiver::finish`] runs:
//!
//! 1. SPF for the connection, every DKIM signature and DMARC policy discovery for the From
//!    domains, at the same time (they are independent, RFC 9989 §4.8; and DNS an attacker
//!    controls cannot hold up the victim's policy lookup);
//!    ARC chain validation (RFC 8617 §5.2) runs beside them;
//! 2. DMARC alignment for every Author Domain, from both;
//! 3. ADSP (RFC 5617, historic), when configured;
//! 4. the consent of each DMARC record's report destinations (RFC 7489 §7.1), when
//!    configured.
//!
//! Every step but DMARC's policy discovery shares one budget of DNS queries per message
//! ([`ReceiverConfig::max_dns_queries`]): the sender chooses most of what they ask (its SPF
//! policy, its signatures, its report destinations), and none of it may use up the queries
//! that find the Author Domains' policies.
//!
//! It returns one [`Receipt`], which writes its own Authentication-Results field
//! ([`Receipt::authentication_results`]). A new receiver step (recording evaluations for
//! DMARC reports, say) is added to [`Receiver::finish`] and to [`Receipt`], and every caller
//! has it, as ARC was.
//!
//! ```
//! use hanko::dns::StaticLookup;
//! use hanko::receiver::{Connection, Receiver, ReceiverConfig};
//!
//! # async fn example() -> Result<(), hanko::message::MessageError> {
//! let message = &b"From: joe@example.com\r\nSubject: hi\r\n\r\nHello.\r\n"[..];
//! let dns = StaticLookup::new()
//!     .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
//!     .with_txt("_dmarc.example.com", "v=DMARC1; p=reject");
//!
//! let config = ReceiverConfig::new("mx.example.net");
//! let receiver = Receiver::read(&config, message)?; // headers parsed, body hashed
//! let connection = Connection {
//!     ip: "192.0.2.1".parse().unwrap(),
//!     helo: "mail.example.com",
//!     mail_from: "joe@example.com",
//!     received_field: None,
//! };
//! let receipt = receiver.finish(&dns, Some(connection), 1_795_000_000).await;
//!
//! assert!(receipt.dkim.results.is_empty()); // unsigned,
//! assert_eq!(receipt.spf.as_ref().unwrap().verdict.as_str(), "pass"); // but SPF passed
//! assert_eq!(receipt.dmarc.verdict.as_str(), "pass"); // for the From domain
//! assert!(receipt.passed());
//! let field = receipt.authentication_results().to_field();
//! assert!(field.starts_with("Authentication-Results: mx.example.net;\r\n\tspf=pass"));
//! assert!(field.contains("dmarc=pass (p=reject dis=none) header.from=example.com"));
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(example()).unwrap();
//! ```

#[cfg(feature = "serde")]
mod document;
mod evaluation;

pub use evaluation::{
    Disposition, DkimEvaluation, Evaluation, Override, PublishedPolicy, SpfEvaluation,
};

use std::io::Read;
use std::net::IpAddr;

use crate::adsp::{self, AdspOutcome};
use crate::arc::{trusted_forwarder, ArcConfig, ArcResult, ArcVerifier, TrustedForwarder};
use crate::authres::{self, AuthenticationResults, MethodResult};
use crate::dkim::{DkimFailure, Verification, Verifier, VerifyConfig};
use crate::dmarc::reporting::{check_destinations, ReportDestination};
use crate::dmarc::{
    self, DmarcOutcome, DmarcProblem, DmarcVerdict, Identifiers, Policy, UnreadableAuthors,
};
use crate::dns::{Budget, Lookup};
use crate::join::join;
use crate::message::{Headers, MessageError, MessageLimits, MessageReader};
use crate::spf::{check_mail_from, SpfConfig, SpfOutcome};

/// The SMTP facts SPF needs.
#[derive(Debug, Clone, Copy)]
pub struct Connection<'a> {
    /// The client's address.
    pub ip: IpAddr,
    /// The HELO/EHLO name.
    pub helo: &'a str,
    /// MAIL FROM without angle brackets; empty for a bounce.
    pub mail_from: &'a str,
    /// Where the facts came from when they were read from the message's own trace
    /// ([`traced_connection`](crate::message::traced_connection)) rather than given by the
    /// MTA: the Received field, 1 being the topmost. Reported with the SPF result.
    pub received_field: Option<usize>,
}

/// What the receiver checks, and how. Plain data: build it once and share it between
/// messages (clones share the caches of parsed records).
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// This host's name, written as the authserv-id of Authentication-Results (RFC 8601
    /// §2.5) and given to SPF as the receiver's name (`%{r}`).
    pub authserv_id: String,
    /// The DKIM verifier's settings (signature and key limits, clock skew).
    pub dkim: VerifyConfig,
    /// ARC chain validation (RFC 8617): its settings, or `None` to skip it. Default: on,
    /// with [`ArcConfig::default`]. Validating a chain trusts nothing; it only reports.
    pub arc: Option<ArcConfig>,
    /// ARC sealers (`d=` of ARC-Seal) whose record of a message's authentication this
    /// receiver believes: a DMARC failure of a message whose chain validates, sealed last by
    /// one of them, whose oldest trusted hop recorded the author as authenticated, is
    /// overridden ([`Receipt::dmarc_override`]; RFC 9990's `trusted_forwarder`). Default:
    /// none. Gmail seals as `google.com`, Microsoft 365 as `microsoft.com`.
    pub trusted_arc_sealers: Vec<String>,
    /// The SPF settings. [`ReceiverConfig::new`] sets its `receiver` to the authserv-id and
    /// turns its trace off (`hanko spf --trace` shows it; a receiver never does).
    pub spf: SpfConfig,
    /// Also check ADSP (RFC 5617, historic; read-only). Default: on.
    pub adsp: bool,
    /// Also check that each DMARC record's external `rua`/`ruf` destinations agreed to
    /// receive reports (`<domain>._report._dmarc.<host>`, RFC 7489 §7.1): a query or two more
    /// per message. Default: off.
    pub report_destinations: bool,
    /// The message is a header section only (the analyzer's pasted headers): a signature
    /// whose signed header fields verified but whose body hash did not match counts as
    /// passing for DMARC, since the body was never there to hash. Default: off; a receiver
    /// of real mail must never turn it on.
    pub headers_only: bool,
    /// Limits on the header section when [`Receiver::read`] parses it.
    pub limits: MessageLimits,
    /// The most DNS queries SPF, the DKIM keys, ADSP and the report-destination checks of one
    /// message may ask together ([`Budget`]); past it, a check's query fails as a temporary
    /// error. DMARC's discovery of the Author Domains' policies is outside the budget (at
    /// most 8 queries for each of at most 10 domains), so a sender who spends it cannot hide
    /// a policy. Default: [`ReceiverConfig::DEFAULT_MAX_DNS_QUERIES`].
    pub max_dns_queries: usize,
}

impl ReceiverConfig {
    /// The default of [`max_dns_queries`](Self::max_dns_queries): 128, room for SPF's
    /// worst case within RFC 7208 §4.6.4's limits (the policy, ten terms, ten addresses for
    /// each `mx`: 111 queries) with the keys of ten signatures and ADSP.
    pub const DEFAULT_MAX_DNS_QUERIES: usize = 128;

    /// The defaults, for the host named `authserv_id`.
    pub fn new(authserv_id: &str) -> ReceiverConfig {
        ReceiverConfig {
            authserv_id: authserv_id.to_string(),
            dkim: VerifyConfig::default(),
            arc: Some(ArcConfig::default()),
            trusted_arc_sealers: Vec::new(),
            spf: SpfConfig {
                receiver: authserv_id.to_string(),
                keep_trace: false,
                ..SpfConfig::default()
            },
            adsp: true,
            report_destinations: false,
            headers_only: false,
            limits: MessageLimits::default(),
            max_dns_queries: ReceiverConfig::DEFAULT_MAX_DNS_QUERIES,
        }
    }
}

/// One message on its way through the receiver: the header section is read, the body is
/// being hashed.
pub struct Receiver {
    config: ReceiverConfig,
    headers: Headers,
    verifier: Verifier,
    /// The ARC chain's validator, when configured and the header section is whole.
    arc: Option<ArcVerifier>,
    /// Set when only part of the header section was kept: why, and whether every From field
    /// was kept.
    overflow: Option<(HeaderOverflow, bool)>,
}

/// Why the receiver has only part of a header section: the caller stopped keeping fields at
/// a limit (the milter's `max_header_fields`, its 1 MiB of header octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderOverflow {
    /// More header fields than this.
    Fields(usize),
    /// More header octets than this.
    Octets(usize),
}

impl std::fmt::Display for HeaderOverflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderOverflow::Fields(limit) => write!(f, "more than {limit} header fields"),
            HeaderOverflow::Octets(limit) => write!(f, "header section over {limit} octets"),
        }
    }
}

impl Receiver {
    /// Starts a message whose header section has been read.
    pub fn new(config: &ReceiverConfig, headers: Headers) -> Receiver {
        let verifier = Verifier::new(&headers, config.dkim.clone());
        let arc = config.arc.as_ref().map(|arc| {
            let arc = ArcConfig {
                headers_only: arc.headers_only || config.headers_only,
                ..arc.clone()
            };
            ArcVerifier::new(&headers, arc)
        });
        Receiver {
            config: config.clone(),
            headers,
            verifier,
            arc,
            overflow: None,
        }
    }

    /// Starts a message of which only part of the header section was kept, because it was
    /// over a limit: `kept` holds the fields read before the limit and the From fields after
    /// it; `from_fields_complete` says whether every From field was kept. A limit must not
    /// switch the checks off: DKIM is not verified (its result is `permerror`), nor is ARC
    /// (no `arc=` result, so no chain can be trusted), SPF is, and
    /// DMARC is evaluated for the From fields kept; From fields dropped count as an unreadable
    /// author ([`DmarcOutcome::enforced_policy`](crate::dmarc::DmarcOutcome::enforced_policy)).
    pub fn with_incomplete_headers(
        config: &ReceiverConfig,
        kept: Headers,
        overflow: HeaderOverflow,
        from_fields_complete: bool,
    ) -> Receiver {
        let verifier = Verifier::new(&Headers::new(), config.dkim.clone());
        Receiver {
            config: config.clone(),
            headers: kept,
            verifier,
            arc: None,
            overflow: Some((overflow, from_fields_complete)),
        }
    }

    /// Reads a whole message from `input` (LF or CRLF line ends), streaming the body through
    /// the hashers: memory is the header section plus one chunk.
    pub fn read(config: &ReceiverConfig, input: impl Read) -> Result<Receiver, MessageError> {
        let mut reader = MessageReader::new(input, config.limits.clone());
        let headers = reader.read_headers()?;
        let mut receiver = Receiver::new(config, headers);
        while let Some(chunk) = reader.next_body_chunk()? {
            receiver.body(chunk);
        }
        Ok(receiver)
    }

    /// The message's header section.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The next body chunk, with CRLF line ends.
    pub fn body(&mut self, chunk: &[u8]) {
        self.verifier.body(chunk);
        if let Some(arc) = &mut self.arc {
            arc.body(chunk);
        }
    }

    /// Runs every check (the steps are in the module docs). `connection` is `None` when the
    /// SMTP facts are unknown (SPF is then not evaluated); `now` is the Unix time.
    pub async fn finish<L: Lookup + ?Sized>(
        self,
        lookup: &L,
        connection: Option<Connection<'_>>,
        now: u64,
    ) -> Receipt {
        // The checks' state (DKIM, SPF and DMARC under way together) is about 8 KB: kept in
        // one allocation, it is not copied each time a caller's future is moved (into a
        // task, up through the callers' own futures).
        Box::pin(self.run(lookup, connection, now)).await
    }

    async fn run<L: Lookup + ?Sized>(
        self,
        lookup: &L,
        connection: Option<Connection<'_>>,
        now: u64,
    ) -> Receipt {
        let Receiver {
            config,
            headers,
            verifier,
            arc,
            overflow,
        } = self;
        // The checks whose queries the sender can multiply share one budget; DMARC's
        // discovery asks `lookup` itself (see `ReceiverConfig::max_dns_queries`).
        let budget = Budget::new(lookup, config.max_dns_queries);
        let mut authors = dmarc::author_domains(&headers);
        if let Some((_, false)) = overflow {
            authors.unreadable.push(DmarcProblem::FromFieldsDropped);
        }
        let spf = async {
            match connection {
                Some(c) => Some(
                    check_mail_from(&budget, &config.spf, c.ip, c.mail_from, c.helo, now).await,
                ),
                None => None,
            }
        };
        let arc_chain = async {
            match arc {
                Some(arc) => Some(arc.finish(&budget, now).await),
                None => None,
            }
        };
        let (((dkim, arc), spf), discovery) = join(
            join(join(verifier.finish(&budget, now), arc_chain), spf),
            dmarc::discover_authors(lookup, authors),
        )
        .await;

        let mut identifiers = Identifiers::from_results(&dkim, spf.as_ref());
        if config.headers_only {
            for (result, id) in dkim.results.iter().zip(identifiers.dkim.iter_mut()) {
                if matches!(
                    result.failure,
                    Some(DkimFailure::BodyHashMismatch {
                        headers_intact: true
                    })
                ) {
                    id.pass = true;
                }
            }
        }
        let dmarc = discovery.evaluate(&identifiers).await;
        // Only a single, readable author's failure can be vouched for by a forwarder.
        let dmarc_override = match (&arc, dmarc.verdict, &dmarc.author_domain) {
            (Some(arc), DmarcVerdict::Fail, Some(author))
                if dmarc.unreadable_authors.is_empty() && dmarc.evaluations.len() == 1 =>
            {
                trusted_forwarder(arc, &config.trusted_arc_sealers, author)
            }
            _ => None,
        };

        let adsp = match (&dmarc.author_domain, config.adsp) {
            (Some(domain), true) => Some(adsp::check(&budget, domain, &dkim).await),
            _ => None,
        };

        let mut report_destinations = Vec::new();
        if config.report_destinations {
            for e in &dmarc.evaluations {
                if let (Some(record), Some(at)) = (&e.record, &e.record_domain) {
                    let organization = e.organizational_domain.as_deref().unwrap_or(at);
                    report_destinations.push(AuthorDestinations {
                        author_domain: e.author_domain.clone(),
                        destinations: check_destinations(&budget, at, organization, record).await,
                    });
                }
            }
        }

        Receipt {
            authserv_id: config.authserv_id,
            header_overflow: overflow.map(|(o, _)| o),
            dkim,
            arc,
            spf,
            client_ip: connection.map(|c| c.ip),
            received_field: connection.and_then(|c| c.received_field),
            dmarc,
            dmarc_override,
            adsp,
            report_destinations,
        }
    }
}

/// The report destinations of one Author Domain's DMARC record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorDestinations {
    /// The Author Domain whose record names them.
    pub author_domain: String,
    /// Each `rua=`/`ruf=` destination and whether it may receive reports.
    pub destinations: Vec<ReportDestination>,
}

/// Everything the receiver found for one message.
///
/// [`Receipt::authentication_results`] renders the RFC 8601 field; with the `serde` feature
/// the receipt is also `serde::Serialize`, as the document `hanko verify --json` prints
/// (result words, reasons, the decisive Author Domain and every other one, each report
/// destination's authorization).
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The authserv-id the checks ran under.
    pub authserv_id: String,
    /// Set when only part of the header section was kept
    /// ([`Receiver::with_incomplete_headers`]): DKIM was not verified.
    pub header_overflow: Option<HeaderOverflow>,
    /// Every DKIM signature's result.
    pub dkim: Verification,
    /// The ARC chain's validation; `None` when it is not configured or the header section
    /// was not kept whole.
    pub arc: Option<ArcResult>,
    /// SPF for the MAIL FROM identity (or HELO, for a bounce); `None` without a connection.
    pub spf: Option<SpfOutcome>,
    /// The client's address, when the connection was known (`smtp.remote-ip` of `arc=`).
    pub client_ip: Option<IpAddr>,
    /// The Received field the connection was read from ([`Connection::received_field`]).
    pub received_field: Option<usize>,
    /// DMARC.
    pub dmarc: DmarcOutcome,
    /// Set when DMARC failed but a trusted ARC sealer recorded the author as authenticated
    /// ([`ReceiverConfig::trusted_arc_sealers`]): [`Receipt::enforced_policy`] is then
    /// `none`. The `dmarc=` result stays `fail`, with the override in its comment.
    pub dmarc_override: Option<TrustedForwarder>,
    /// ADSP, when configured and there is an author domain.
    pub adsp: Option<AdspOutcome>,
    /// The report destinations of each Author Domain's record, when configured
    /// ([`ReceiverConfig::report_destinations`]).
    pub report_destinations: Vec<AuthorDestinations>,
}

impl Receipt {
    /// The Authentication-Results field: `spf` (when evaluated), `dkim`, `arc` (when
    /// validated), `dmarc` and `dkim-adsp` (when checked), in the order a receiver evaluates
    /// them.
    pub fn authentication_results(&self) -> AuthenticationResults {
        let mut field = AuthenticationResults::new(&self.authserv_id);
        field
            .results
            .extend(self.spf.as_ref().map(authres::from::spf));
        match self.header_overflow {
            Some(overflow) => field.results.push(
                MethodResult::new("dkim", "permerror")
                    .with_comment(&format!("{overflow}: signatures not verified")),
            ),
            None => field.results.extend(authres::from::dkim(&self.dkim)),
        }
        field.results.extend(
            self.arc
                .as_ref()
                .map(|arc| authres::from::arc(arc, self.client_ip)),
        );
        let mut dmarc = authres::from::dmarc(&self.dmarc);
        if let Some(forwarder) = &self.dmarc_override {
            dmarc = dmarc.with_comment(&format!(
                "override trusted_forwarder: ARC sealer {} (i={}) recorded {}",
                forwarder.sealer, forwarder.instance, forwarder.evidence
            ));
        }
        field.results.push(dmarc);
        field
            .results
            .extend(self.adsp.as_ref().map(authres::from::adsp));
        field
    }

    /// The policy a receiver enforcing DMARC applies
    /// ([`DmarcOutcome::enforced_policy`]), `none` when a trusted forwarder overrode the
    /// failure ([`Receipt::dmarc_override`]).
    pub fn enforced_policy(&self, unreadable: UnreadableAuthors) -> Policy {
        match self.dmarc_override {
            Some(_) => Policy::None,
            None => self.dmarc.enforced_policy(unreadable),
        }
    }

    /// True when the message is authenticated: DMARC passed, or the From domain publishes no
    /// DMARC policy and every DKIM signature (at least one) passed. `hanko verify`'s exit
    /// status.
    pub fn passed(&self) -> bool {
        match self.dmarc.verdict {
            DmarcVerdict::Pass => true,
            DmarcVerdict::None => self.dkim.all_pass(),
            DmarcVerdict::Fail | DmarcVerdict::TempError | DmarcVerdict::PermError => false,
        }
    }
}
