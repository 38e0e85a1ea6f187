//! Sealing (RFC 8617 §5.1): the ARC set a forwarder adds on top of a message it passes on.
//!
//! The set is three fields: ARC-Authentication-Results (what this hop's checks found),
//! ARC-Message-Signature (a relaxed/relaxed DKIM signature of the message as forwarded) and
//! ARC-Seal (a signature over every set, this one included). The seal's `cv=` records what
//! validating the chain as received gave: `none` for the first set, else `pass` or `fail`.
//! A chain whose newest seal already says `cv=fail` gets no further set: nothing after it
//! can be trusted, and RFC 8617 §5.1.2 has sealers stop there.
//!
//! Tags are written in alphabetical order, the layout the ValiMail signing suite fixes so
//! that signatures can be compared byte for byte.

use std::fmt;

use base64::Engine;

use super::fields::{split_aar, tag_instance, ArcFieldKind, MAX_INSTANCE};
use super::ChainStatus;
use crate::dkim::canonicalize::{canonicalize_header, select_headers, BodyHasher};
use crate::dkim::{signed_names, CanonicalizationAlgorithm, Folder, SigningAlgorithm};
use crate::keys::{KeyError, SigningKey};
use crate::message::{HeaderField, Headers, TagList};
use crate::name::{DomainName, NameError, Selector};

/// Why no set was added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// `d=` is not a domain name.
    BadDomain(NameError),
    /// `s=` is not a selector.
    BadSelector(NameError),
    /// The message has no From field, which the ARC-Message-Signature must sign.
    NoFromField,
    /// The newest ARC-Seal already says `cv=fail`: no set may follow (RFC 8617 §5.1.2).
    ChainAlreadyFailed {
        /// The newest instance.
        instance: u32,
    },
    /// The chain already has 50 sets, the most RFC 8617 §4.2.1 allows.
    ChainTooLong,
    /// The results for ARC-Authentication-Results have no authserv-id.
    NoAuthservId,
    /// The key could not sign.
    Key(KeyError),
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::BadDomain(e) => write!(f, "bad sealing domain: {e}"),
            SealError::BadSelector(e) => write!(f, "bad selector: {e}"),
            SealError::NoFromField => f.write_str(
                "the message has no From field, which the ARC-Message-Signature must sign",
            ),
            SealError::ChainAlreadyFailed { instance } => write!(
                f,
                "the newest ARC-Seal (i={instance}) says cv=fail: no set may be added after it \
                 (RFC 8617 §5.1.2)"
            ),
            SealError::ChainTooLong => write!(
                f,
                "the chain already has {MAX_INSTANCE} sets, the most RFC 8617 allows"
            ),
            SealError::NoAuthservId => {
                f.write_str("the results for ARC-Authentication-Results name no authserv-id")
            }
            SealError::Key(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SealError {}

/// The sealer's settings. Build with [`SealRequest::new`] and change the public fields;
/// each field's doc gives its default.
#[derive(Debug, Clone)]
pub struct SealRequest {
    /// The private key; `a=` follows from its type (RSA or Ed25519). Gmail and Microsoft
    /// verify RSA only.
    pub key: SigningKey,
    /// `d=` of both signatures: the sealing domain.
    pub domain: DomainName,
    /// `s=` of both signatures.
    pub selector: Selector,
    /// The header fields the ARC-Message-Signature signs. Default `None`: DKIM's
    /// [`DEFAULT_SIGNED_HEADERS`](crate::dkim::DEFAULT_SIGNED_HEADERS). ARC-Seal is never
    /// signed (RFC 8617 §4.1.2) and is left out if listed.
    pub headers: Option<Vec<String>>,
    /// Fields signed once more than they occur. Default: `["From"]`.
    pub oversign: Vec<String>,
}

impl SealRequest {
    /// A request with the defaults above.
    pub fn new(key: &SigningKey, domain: &str, selector: &str) -> Result<SealRequest, SealError> {
        Ok(SealRequest {
            key: key.clone(),
            domain: DomainName::parse(domain).map_err(SealError::BadDomain)?,
            selector: Selector::parse(selector).map_err(SealError::BadSelector)?,
            headers: None,
            oversign: vec!["From".to_string()],
        })
    }
}

/// The set made by [`ArcSealer::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSet {
    /// Its instance.
    pub instance: u32,
    /// The `cv=` its seal carries.
    pub chain_status: ChainStatus,
    /// ARC-Seal.
    pub seal: HeaderField,
    /// ARC-Message-Signature.
    pub message_signature: HeaderField,
    /// ARC-Authentication-Results.
    pub authentication_results: HeaderField,
}

impl SealedSet {
    /// The three fields in the order they go on top of the message: ARC-Seal first.
    pub fn fields(&self) -> [&HeaderField; 3] {
        [
            &self.seal,
            &self.message_signature,
            &self.authentication_results,
        ]
    }
}

/// Streaming sealer: [`new`](Self::new) with the header section, [`body`](Self::body) per
/// chunk, [`finish`](Self::finish) with what validating the chain found and this hop's
/// results.
pub struct ArcSealer {
    request: SealRequest,
    instance: u32,
    /// The existing sets in relaxed canonical form, instance 1 first, each field with CRLF:
    /// what a `cv=pass` seal signs before the new set. `None` when the sets are not
    /// complete (the chain then fails, and the seal signs the new set only).
    earlier_sets: Option<Vec<u8>>,
    /// The `cv=` of the newest existing seal, when it can be read.
    newest_chain_status: Option<ChainStatus>,
    signed_names: Vec<String>,
    header_input: Vec<u8>,
    hasher: BodyHasher,
}

const RELAXED: CanonicalizationAlgorithm = CanonicalizationAlgorithm::Relaxed;

impl ArcSealer {
    /// Reads the existing ARC sets of `headers` (the new set's instance comes after the
    /// highest) and the fields the ARC-Message-Signature signs.
    pub fn new(headers: &Headers, request: SealRequest) -> Result<ArcSealer, SealError> {
        if headers.named("From").next().is_none() {
            return Err(SealError::NoFromField);
        }
        let mut by_instance: Vec<[Option<&HeaderField>; 3]> = Vec::new();
        let mut complete = true;
        for field in headers.fields() {
            let Some(kind) = ArcFieldKind::of(field.name()) else {
                continue;
            };
            let instance = match kind {
                ArcFieldKind::AuthenticationResults => split_aar(field.value()).map(|(i, _)| i),
                _ => TagList::parse_strict(field.value())
                    .map_err(|e| super::InstanceError::NotTagList(e.to_string()))
                    .and_then(|tags| tag_instance(&tags)),
            };
            let Ok(instance) = instance else {
                complete = false;
                continue;
            };
            let i = instance as usize - 1;
            if by_instance.len() <= i {
                by_instance.resize(i + 1, [None; 3]);
            }
            let slot = &mut by_instance[i][kind as usize];
            if slot.is_some() {
                complete = false;
            }
            *slot = Some(field);
        }
        let instance = by_instance.len() as u32 + 1;
        if instance > MAX_INSTANCE {
            return Err(SealError::ChainTooLong);
        }
        let newest_chain_status = by_instance
            .last()
            .and_then(|set| set[ArcFieldKind::Seal as usize])
            .and_then(|seal| TagList::parse_strict(seal.value()).ok())
            .and_then(|tags| tags.get("cv").and_then(ChainStatus::parse));
        let mut earlier = Vec::new();
        for set in &by_instance {
            // AAR, AMS, AS: the order of ArcFieldKind.
            for field in set {
                match field {
                    Some(field) => {
                        canonicalize_header(RELAXED, field.raw(), &mut earlier);
                        earlier.extend_from_slice(b"\r\n");
                    }
                    None => complete = false,
                }
            }
        }
        let wanted: Option<Vec<String>> = request.headers.as_ref().map(|names| {
            names
                .iter()
                .filter(|n| !n.eq_ignore_ascii_case("ARC-Seal"))
                .cloned()
                .collect()
        });
        let names = signed_names(headers, wanted.as_deref(), &request.oversign);
        let mut header_input = Vec::new();
        for field in select_headers(headers.fields(), &names) {
            canonicalize_header(RELAXED, field.raw(), &mut header_input);
            header_input.extend_from_slice(b"\r\n");
        }
        let hash = SigningAlgorithm::for_key(request.key.key_type()).hash();
        Ok(ArcSealer {
            request,
            instance,
            earlier_sets: complete.then_some(earlier),
            newest_chain_status,
            signed_names: names,
            header_input,
            hasher: BodyHasher::new(RELAXED, hash, None),
        })
    }

    /// The instance the new set will have.
    pub fn instance(&self) -> u32 {
        self.instance
    }

    /// Hashes the next body chunk (CRLF line ends).
    pub fn body(&mut self, chunk: &[u8]) {
        self.hasher.push(chunk);
    }

    /// Makes the set. `chain` is what validating the chain as received gave: an
    /// [`ArcVerifier`](super::ArcVerifier)'s [`status`](super::ArcResult::status) before this
    /// hop changed the message, or the `arc=` this host recorded when it received it.
    /// `results` is the value of an Authentication-Results field with this hop's results,
    /// authserv-id first (`mx.example.net; spf=pass smtp.mailfrom=...; dkim=pass ...`), which
    /// becomes the ARC-Authentication-Results; `now` (Unix seconds) becomes `t=`.
    pub fn finish(
        self,
        chain: ChainStatus,
        results: &str,
        now: u64,
    ) -> Result<SealedSet, SealError> {
        if self.newest_chain_status == Some(ChainStatus::Fail) {
            return Err(SealError::ChainAlreadyFailed {
                instance: self.instance - 1,
            });
        }
        let results = results.trim();
        if results.is_empty() || results.starts_with(';') {
            return Err(SealError::NoAuthservId);
        }
        let instance = self.instance;
        // The first set says none; after it, what validation found, and fail whenever the
        // existing sets are not even complete.
        let chain_status = match (instance, chain, &self.earlier_sets) {
            (1, ..) => ChainStatus::None,
            (_, ChainStatus::Pass, Some(_)) => ChainStatus::Pass,
            _ => ChainStatus::Fail,
        };
        let key = &self.request.key;
        let algorithm = SigningAlgorithm::for_key(key.key_type());
        let b64 = base64::engine::general_purpose::STANDARD;
        let sign = |input: &[u8]| key.sign(input).map_err(SealError::Key);

        let aar = field(&format!(
            "ARC-Authentication-Results: i={instance}; {results}"
        ))?;

        let body = self.hasher.finish();
        let domain = self.request.domain.as_str();
        let selector = self.request.selector.as_str();
        let i = instance.to_string();
        let t = now.to_string();
        let body_hash = b64.encode(&body.digest);
        let ams_text = |b: &str| {
            let mut folder = Folder::new("ARC-Message-Signature:");
            folder.tag("a", algorithm.name());
            folder.start_last_tag("b");
            folder.split_value(b);
            folder.end_tag();
            folder.tag("bh", &body_hash);
            folder.tag("c", "relaxed/relaxed");
            folder.tag("d", domain);
            folder.list_tag("h", &self.signed_names);
            folder.tag("i", &i);
            folder.tag("s", selector);
            folder.tag("t", &t);
            folder.drop_final_semicolon();
            folder.text
        };
        let mut input = self.header_input;
        canonicalize_header(RELAXED, ams_text("").as_bytes(), &mut input);
        let ams = field(&ams_text(&b64.encode(sign(&input)?)))?;

        let cv = chain_status.as_str();
        let seal_text = |b: &str| {
            let mut folder = Folder::new("ARC-Seal:");
            folder.tag("a", algorithm.name());
            folder.start_last_tag("b");
            folder.split_value(b);
            folder.end_tag();
            folder.tag("cv", cv);
            folder.tag("d", domain);
            folder.tag("i", &i);
            folder.tag("s", selector);
            folder.tag("t", &t);
            folder.drop_final_semicolon();
            folder.text
        };
        // A cv=fail seal signs its own set only (RFC 8617 §5.1.1): the sets before it are
        // the broken chain.
        let mut input = match (chain_status, self.earlier_sets) {
            (ChainStatus::Pass, Some(earlier)) => earlier,
            _ => Vec::new(),
        };
        for raw in [aar.raw(), ams.raw()] {
            canonicalize_header(RELAXED, raw, &mut input);
            input.extend_from_slice(b"\r\n");
        }
        canonicalize_header(RELAXED, seal_text("").as_bytes(), &mut input);
        let seal = field(&seal_text(&b64.encode(sign(&input)?)))?;

        Ok(SealedSet {
            instance,
            chain_status,
            seal,
            message_signature: ams,
            authentication_results: aar,
        })
    }
}

fn field(text: &str) -> Result<HeaderField, SealError> {
    HeaderField::parse(text.as_bytes().to_vec())
        .ok_or_else(|| SealError::Key(KeyError::Invalid(format!("internal: bad field {text:?}"))))
}

/// The results of every Authentication-Results field of `authserv_id`, in message order,
/// as the value of one field (`authserv_id; result; result`): what a forwarder whose own
/// verifier ran before it puts in its ARC-Authentication-Results. `None` when no field
/// names `authserv_id`. Each result is kept as written, comments included.
pub fn merged_results(headers: &Headers, authserv_id: &str) -> Option<String> {
    let mut results: Vec<String> = Vec::new();
    let mut found = false;
    for field in headers.named("Authentication-Results") {
        let value = String::from_utf8_lossy(field.value());
        let claimed = crate::authres::claimed_authserv_id(&value);
        if !claimed.is_some_and(|c| c.eq_ignore_ascii_case(authserv_id.trim_end_matches('.'))) {
            continue;
        }
        found = true;
        for part in split_top_level(&value).into_iter().skip(1) {
            let text = collapse(part);
            if !text.is_empty() && !text.eq_ignore_ascii_case("none") {
                results.push(text);
            }
        }
    }
    if !found {
        return None;
    }
    if results.is_empty() {
        results.push("none".to_string());
    }
    Some(format!("{authserv_id};\r\n\t{}", results.join(";\r\n\t")))
}

/// `text` split at each `;` outside comments and quoted strings.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ';' if !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Unfolds `text` and collapses runs of white space to one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(text: &str) -> Headers {
        Headers::parse(text.as_bytes(), &Default::default()).unwrap()
    }

    #[test]
    fn results_of_one_authserv_id_are_merged_in_order() {
        let h = headers(
            "Authentication-Results: lists.example.org; arc=none\r\n\
             Authentication-Results: other.example; spf=fail\r\n\
             Authentication-Results: lists.example.org; dkim=pass (1024-bit; key)\r\n  header.i=@d1.example\r\n\
             From: a@example.com\r\n",
        );
        assert_eq!(
            merged_results(&h, "lists.example.org").unwrap(),
            "lists.example.org;\r\n\tarc=none;\r\n\tdkim=pass (1024-bit; key) header.i=@d1.example"
        );
        assert_eq!(merged_results(&h, "absent.example"), None);
        let none = headers("Authentication-Results: mx.example; none\r\n");
        assert_eq!(
            merged_results(&none, "mx.example").unwrap(),
            "mx.example;\r\n\tnone"
        );
    }
}
