//! Signing (RFC 6376 §5), one or several signatures in one pass over the body.

use std::fmt;

use base64::Engine;

use super::canonicalize::{canonicalize_header, select_headers, BodyHasher};
use super::{Canonicalization, CanonicalizationAlgorithm, HashAlgorithm, SigningAlgorithm};
use crate::keys::{KeyError, SigningKey};
use crate::message::{mbox_separator_len, split_message, HeaderField, Headers, MessageLimits};
use crate::name::{DomainName, NameError, Selector};

/// The header fields signed by default, when present: the RFC 6376 §5.4.1 list plus the
/// fields whose change alters what a reader sees (Message-ID, Sender and the MIME fields).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    // RFC 8058 §4: one-click unsubscription counts only when this is signed with
    // List-Unsubscribe.
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "Sender",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// `d=` is not a domain name.
    BadDomain(NameError),
    /// `s=` is not a selector.
    BadSelector(NameError),
    /// `i=` is malformed or not within `d=`.
    BadIdentity(String),
    /// The message has no From field, which every signature must cover (RFC 6376 §5.4).
    NoFromField,
    /// No signing request was given.
    NothingToSign,
    /// The key could not sign.
    Key(KeyError),
    /// [`sign_message`]: the header section could not be read.
    MalformedMessage(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::BadDomain(e) => write!(f, "bad signing domain: {e}"),
            SignError::BadSelector(e) => write!(f, "bad selector: {e}"),
            SignError::BadIdentity(why) => write!(f, "bad identity (i=): {why}"),
            SignError::NoFromField => {
                f.write_str("the message has no From field, which DKIM must sign (RFC 6376 §5.4)")
            }
            SignError::NothingToSign => f.write_str("no signing key given"),
            SignError::Key(e) => write!(f, "{e}"),
            SignError::MalformedMessage(why) => write!(f, "cannot read the message: {why}"),
        }
    }
}

impl std::error::Error for SignError {}

/// One signature to make. Build with [`SigningRequest::new`] and change the public fields;
/// each field's doc gives its default.
#[derive(Debug, Clone)]
pub struct SigningRequest {
    /// The private key; `a=` follows from its type. (Clones share the key.)
    pub key: SigningKey,
    /// `d=`: the signing domain.
    pub domain: DomainName,
    /// `s=`: the selector.
    pub selector: Selector,
    /// `c=`. Default: `relaxed/relaxed`, which survives the refolding and white-space changes
    /// mail systems make.
    pub canonicalization: Canonicalization,
    /// The header fields to sign; each name is signed as many times as it occurs. Default
    /// `None`: [`DEFAULT_SIGNED_HEADERS`].
    pub headers: Option<Vec<String>>,
    /// Fields signed once more than they occur (also when absent), so that none can be
    /// added later without breaking the signature. Default: `["From"]`.
    pub oversign: Vec<String>,
    /// `i=`, e.g. `@example.com` or `user@mail.example.com`. Default: none.
    pub identity: Option<String>,
    /// Seconds after `t=` at which the signature expires, written as `x=`. Default: none.
    pub expire_after: Option<u64>,
    /// Write `l=` with the body length. Default: off (it lets anyone append content).
    pub body_length: bool,
    /// Write `t=`. Default: on.
    pub timestamp: bool,
}

impl SigningRequest {
    /// A request with the defaults above.
    pub fn new(key: &SigningKey, domain: &str, selector: &str) -> Result<Self, SignError> {
        Ok(SigningRequest {
            key: key.clone(),
            domain: DomainName::parse(domain).map_err(SignError::BadDomain)?,
            selector: Selector::parse(selector).map_err(SignError::BadSelector)?,
            canonicalization: Canonicalization::RELAXED,
            headers: None,
            oversign: vec!["From".to_string()],
            identity: None,
            expire_after: None,
            body_length: false,
            timestamp: true,
        })
    }

    fn algorithm(&self) -> SigningAlgorithm {
        SigningAlgorithm::for_key(self.key.key_type())
    }
}

type HasherKey = (CanonicalizationAlgorithm, HashAlgorithm);

struct Prepared {
    request: SigningRequest,
    signed_names: Vec<String>,
    header_input: Vec<u8>,
    hasher: usize,
}

/// Streaming signer: [`new`](Self::new) with the header section and the requests,
/// [`body`](Self::body) per chunk, [`finish`](Self::finish) for the DKIM-Signature fields.
pub struct Signer {
    prepared: Vec<Prepared>,
    hashers: Vec<(HasherKey, BodyHasher)>,
}

/// The `h=` names for signing `headers`: each wanted name (default
/// [`DEFAULT_SIGNED_HEADERS`]) as often as it occurs, the `oversign` names once more.
pub(crate) fn signed_names(
    headers: &Headers,
    wanted: Option<&[String]>,
    oversign: &[String],
) -> Vec<String> {
    let wanted: Vec<&str> = match wanted {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => DEFAULT_SIGNED_HEADERS.to_vec(),
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut names = Vec::new();
    for name in wanted
        .iter()
        .copied()
        .chain(oversign.iter().map(String::as_str))
    {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            continue;
        }
        seen.push(name);
        let mut count = headers.named(name).count();
        if oversign.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            count += 1;
        }
        if count > 0 {
            names.extend(std::iter::repeat_n(name.to_ascii_lowercase(), count));
        }
    }
    names
}

impl Signer {
    /// Chooses the fields each request signs and canonicalizes them.
    pub fn new(headers: &Headers, requests: Vec<SigningRequest>) -> Result<Signer, SignError> {
        if requests.is_empty() {
            return Err(SignError::NothingToSign);
        }
        if headers.named("From").next().is_none() {
            return Err(SignError::NoFromField);
        }
        let mut hashers: Vec<(HasherKey, BodyHasher)> = Vec::new();
        let mut prepared = Vec::new();
        for request in requests {
            if let Some(identity) = &request.identity {
                let (_, domain) = identity
                    .rsplit_once('@')
                    .ok_or_else(|| SignError::BadIdentity(format!("{identity:?} has no '@'")))?;
                let domain = DomainName::parse(domain).map_err(|e| SignError::BadIdentity(e.0))?;
                if !domain.is_within(&request.domain) {
                    return Err(SignError::BadIdentity(format!(
                        "{identity} is not within d={}",
                        request.domain
                    )));
                }
            }
            let names = signed_names(headers, request.headers.as_deref(), &request.oversign);
            let mut header_input = Vec::new();
            for field in select_headers(headers.fields(), &names) {
                canonicalize_header(
                    request.canonicalization.header,
                    field.raw(),
                    &mut header_input,
                );
                header_input.extend_from_slice(b"\r\n");
            }
            // Signatures with l= need the length, which all hashers count; only the
            // (canonicalization, hash) pair decides whether a hasher can be shared.
            let key = (request.canonicalization.body, request.algorithm().hash());
            let hasher = match hashers.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    hashers.push((key, BodyHasher::new(key.0, key.1, None)));
                    hashers.len() - 1
                }
            };
            prepared.push(Prepared {
                request,
                signed_names: names,
                header_input,
                hasher,
            });
        }
        Ok(Signer { prepared, hashers })
    }

    /// Hashes the next body chunk (CRLF line ends).
    pub fn body(&mut self, chunk: &[u8]) {
        for (_, hasher) in &mut self.hashers {
            hasher.push(chunk);
        }
    }

    /// Signs. `now` (Unix seconds) becomes `t=`. Returns one DKIM-Signature field per request,
    /// in request order, to be prepended to the message in that order.
    pub fn finish(self, now: u64) -> Result<Vec<HeaderField>, SignError> {
        let body_hashes: Vec<_> = self.hashers.into_iter().map(|(_, h)| h.finish()).collect();
        let mut fields = Vec::with_capacity(self.prepared.len());
        for p in self.prepared {
            let Some(body) = body_hashes.get(p.hasher) else {
                return Err(SignError::NothingToSign);
            };
            let request = &p.request;
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut folder = Folder::new("DKIM-Signature:");
            folder.tag("v", "1");
            folder.tag("a", request.algorithm().name());
            folder.tag("c", &request.canonicalization.to_string());
            folder.tag("d", request.domain.as_str());
            folder.tag("s", request.selector.as_str());
            if request.timestamp {
                folder.tag("t", &now.to_string());
            }
            if let Some(after) = request.expire_after {
                folder.tag("x", &now.saturating_add(after.max(1)).to_string());
            }
            if request.body_length {
                folder.tag("l", &body.total.to_string());
            }
            if let Some(identity) = &request.identity {
                folder.tag("i", identity);
            }
            folder.list_tag("h", &p.signed_names);
            // bh= stays on one line: FWS inside it is legal, but not every verifier copes.
            folder.tag("bh", &b64.encode(&body.digest));
            folder.start_last_tag("b");
            let mut input = p.header_input;
            canonicalize_header(
                request.canonicalization.header,
                folder.text.as_bytes(),
                &mut input,
            );
            let signature = request.key.sign(&input).map_err(SignError::Key)?;
            folder.split_value(&b64.encode(signature));
            let field = HeaderField::parse(folder.text.into_bytes())
                .ok_or_else(|| SignError::Key(KeyError::Invalid("internal: bad field".into())))?;
            fields.push(field);
        }
        Ok(fields)
    }
}

/// Lays out a DKIM-Signature field (or an ARC one) at most 78 columns wide, folding between
/// tags, between `h=` names and inside base64 (RFC 6376 §3.5 allows FWS in all three).
pub(crate) struct Folder {
    pub(crate) text: String,
    column: usize,
}

const WIDTH: usize = 78;

impl Folder {
    pub(crate) fn new(name: &str) -> Folder {
        Folder {
            text: name.to_string(),
            column: name.len(),
        }
    }

    /// Writes `word`, preceded by a space or, if it would not fit, a fold.
    fn word(&mut self, word: &str, space: bool) {
        let needed = word.len() + usize::from(space);
        if self.column + needed > WIDTH && self.column > 1 {
            self.text.push_str("\r\n\t");
            self.column = 1;
        } else if space {
            self.text.push(' ');
            self.column += 1;
        }
        self.text.push_str(word);
        self.column += word.len();
    }

    pub(crate) fn tag(&mut self, name: &str, value: &str) {
        self.word(&format!("{name}={value};"), true);
    }

    pub(crate) fn list_tag(&mut self, name: &str, items: &[String]) {
        for (i, item) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            let word = match (i, last) {
                (0, true) => format!("{name}={item};"),
                (0, false) => format!("{name}={item}:"),
                (_, true) => format!("{item};"),
                (_, false) => format!("{item}:"),
            };
            self.word(&word, i == 0);
        }
    }

    pub(crate) fn start_last_tag(&mut self, name: &str) {
        self.word(&format!("{name}="), true);
    }

    /// Ends the tag [`start_last_tag`](Self::start_last_tag) began, when more tags follow.
    pub(crate) fn end_tag(&mut self) {
        self.text.push(';');
        self.column += 1;
    }

    /// Drops the `;` that ends the last tag written, for fields written without one.
    pub(crate) fn drop_final_semicolon(&mut self) {
        if self.text.ends_with(';') {
            self.text.pop();
            self.column -= 1;
        }
    }

    /// Writes base64, filling each line and folding inside the value.
    pub(crate) fn split_value(&mut self, value: &str) {
        let mut rest = value;
        while !rest.is_empty() {
            let room = WIDTH.saturating_sub(self.column + 1);
            if room < 8 {
                self.text.push_str("\r\n\t");
                self.column = 1;
                continue;
            }
            let take = room.min(rest.len());
            self.text.push_str(&rest[..take]);
            self.column += take;
            rest = &rest[take..];
        }
    }
}

/// Signs a whole message held in memory (CRLF line ends) and returns it with one
/// DKIM-Signature field per request on top, in request order, below an mbox `From ` line if
/// the message starts with one. For a message too large to hold, feed a [`Signer`] from a
/// [`MessageReader`](crate::message::MessageReader) instead, as `hanko sign` does.
pub fn sign_message(
    message: &[u8],
    requests: Vec<SigningRequest>,
    now: u64,
) -> Result<Vec<u8>, SignError> {
    let (head, body) = split_message(message);
    let headers = Headers::parse(head, &MessageLimits::default())
        .map_err(|e| SignError::MalformedMessage(e.to_string()))?;
    let mut signer = Signer::new(&headers, requests)?;
    signer.body(body);
    let fields = signer.finish(now)?;
    let separator = mbox_separator_len(message);
    let mut out = Vec::with_capacity(message.len() + 1024);
    out.extend_from_slice(&message[..separator]);
    for field in &fields {
        out.extend_from_slice(field.raw());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&message[separator..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySpec;

    fn headers(text: &str) -> Headers {
        Headers::parse(text.as_bytes(), &Default::default()).unwrap()
    }

    #[test]
    fn header_list_counts_and_oversigns() {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        let h = headers("From: a@example.com\r\nTo: b\r\nTo: c\r\nX-Other: 1\r\n");
        let mut req = SigningRequest::new(&key, "example.com", "s").unwrap();
        req.oversign.push("Reply-To".into());
        assert_eq!(
            signed_names(&h, req.headers.as_deref(), &req.oversign),
            ["from", "from", "reply-to", "to", "to"]
        );
    }

    #[test]
    fn lines_stay_within_78_columns() {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        let h = headers(
            "From: a@example.com\r\nSubject: x\r\nTo: b\r\nCc: c\r\nDate: d\r\nMessage-ID: <m>\r\n",
        );
        let req =
            SigningRequest::new(&key, "example.com", "a-rather-long-selector-name-2026").unwrap();
        let mut signer = Signer::new(&h, vec![req]).unwrap();
        signer.body(b"hello\r\n");
        let field = signer.finish(1_700_000_000).unwrap().remove(0);
        let text = String::from_utf8(field.raw().to_vec()).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 78, "{line:?} is {} long", line.len());
        }
        assert!(text.starts_with(
            "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"
        ));
        assert!(crate::dkim::Signature::parse(field.value()).is_ok());
    }

    #[test]
    fn refuses_without_from_and_bad_identity() {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        let req = SigningRequest::new(&key, "example.com", "s").unwrap();
        assert_eq!(
            Signer::new(&headers("To: x\r\n"), vec![req.clone()]).err(),
            Some(SignError::NoFromField)
        );
        let mut bad = req;
        bad.identity = Some("joe@example.org".into());
        assert!(matches!(
            Signer::new(&headers("From: x\r\n"), vec![bad]).err(),
            Some(SignError::BadIdentity(_))
        ));
    }

    #[test]
    fn sign_message_puts_fields_on_top_but_below_an_mbox_line() {
        let key = SigningKey::generate(KeySpec::Ed25519).unwrap();
        let request = || vec![SigningRequest::new(&key, "example.com", "s").unwrap()];
        let plain = b"From: a@example.com\r\n\r\nhi\r\n";
        let signed = sign_message(plain, request(), 1).unwrap();
        assert!(signed.starts_with(b"DKIM-Signature: v=1;"));
        assert!(signed.ends_with(plain));
        let mbox =
            b"From a@example.com Mon Nov 23 10:00:00 2026\r\nFrom: a@example.com\r\n\r\nhi\r\n";
        let signed = sign_message(mbox, request(), 1).unwrap();
        assert!(
            signed.starts_with(b"From a@example.com Mon Nov 23 10:00:00 2026\r\nDKIM-Signature: ")
        );
        assert!(matches!(
            sign_message(b"not a header\r\n\r\n", request(), 1),
            Err(SignError::MalformedMessage(_))
        ));
        assert_eq!(
            sign_message(b"Subject: x\r\n\r\n", request(), 1),
            Err(SignError::NoFromField)
        );
    }
}
