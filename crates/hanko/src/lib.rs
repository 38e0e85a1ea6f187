//! hanko (判子, the seal that signs a document) proves and checks who sent an e-mail.
//!
//! This crate is the library: DKIM signing and verification (RFC 6376, RFC 8301, RFC 8463),
//! SPF (RFC 7208), DMARC (RFC 9989), ADSP (RFC 5617, read-only) and Authentication-Results
//! (RFC 8601) written and parsed. It does no I/O of its own:
//! DNS arrives through the [`dns::Lookup`] trait (implemented in `hanko-dns` with
//! hickory-resolver and RFC 1035 zone files) and the current time is a parameter, so every
//! result is reproducible in a test.
//!
//! Sign a message, then verify it (the DNS here is a one-record stand-in):
//!
//! ```
//! use hanko::dkim::{self, Signer, SigningRequest, Verifier, VerifyConfig};
//! use hanko::keys::{KeySpec, SigningKey};
//! use hanko::message::{split_message, CrlfNormalizer, Headers};
//! use hanko::dns::StaticLookup;
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     let mut f = std::pin::pin!(f);
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! // The administrator's side: a key and the TXT record to publish.
//! let key = SigningKey::generate(KeySpec::Ed25519)?;
//! let record = dkim::key_record_for(&key, &Default::default())?;
//! let dns = StaticLookup::new().with_txt("mail._domainkey.example.com", record);
//!
//! // Sign: headers, body chunks, finish.
//! let message = CrlfNormalizer::normalize(b"From: joe@example.com\nSubject: hi\n\nHello.\n");
//! let (head, body) = split_message(&message);
//! let headers = Headers::parse(head, &Default::default())?;
//! let mut signer = Signer::new(&headers, vec![SigningRequest::new(&key, "example.com", "mail")?])?;
//! signer.body(body);
//! let mut signed = Headers::new();
//! for field in signer.finish(1_700_000_000)? {
//!     signed.push(field);
//! }
//! for field in headers.fields() {
//!     signed.push(field.clone());
//! }
//!
//! // Verify the same way.
//! let mut verifier = Verifier::new(&signed, VerifyConfig::default());
//! verifier.body(body);
//! let outcome = block_on(verifier.finish(&dns, 1_700_000_060));
//! assert_eq!(outcome.results[0].verdict().as_str(), "pass");
//!
//! // One changed body octet fails, and the reason says what changed.
//! let mut verifier = Verifier::new(&signed, VerifyConfig::default());
//! verifier.body(b"Hello!\r\n");
//! let outcome = block_on(verifier.finish(&dns, 1_700_000_060));
//! assert_eq!(outcome.results[0].verdict().as_str(), "fail");
//! assert_eq!(
//!     outcome.results[0].failure.as_ref().unwrap().to_string(),
//!     "body hash mismatch (body changed; signed headers intact)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules follow the protocols: [`message`] (raw header fields, tag lists, addresses), [`dns`]
//! (the lookup trait), [`keys`] (private keys and their records), [`dkim`], [`spf`],
//! [`dmarc`], [`adsp`], [`authres`] (the Authentication-Results field as data), and
//! [`receiver`] (all of a receiving server's checks in one call). The applications built on
//! them (the header analyzer, the domain audit) live in the crate `hanko-analyze`.
//!
//! The paved path: a receiving server uses [`receiver::Receiver`] (SPF, DKIM, DMARC, ADSP
//! and the Authentication-Results field in one call); a signer uses [`dkim::Signer`] (or
//! [`dkim::sign_message`] for a message in memory); a program that reads what other servers
//! concluded uses [`authres`]. [`dkim::Verifier`], [`spf`] and [`dmarc`] are there for a
//! program that needs one protocol alone. [`dkim::canonicalize`] exposes the canonicalization
//! building blocks for conformance tests and for rebuilding a body, as the header analyzer's
//! diagnosis does; a verifier or signer never needs them.

#![forbid(unsafe_code)]

pub mod adsp;
pub mod arc;
pub mod authres;
mod crypto;
pub mod dkim;
pub mod dmarc;
pub mod dns;
mod join;
pub mod keys;
pub mod message;
pub mod name;
pub mod receiver;
pub mod spf;
