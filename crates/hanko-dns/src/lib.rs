//! DNS lookups for hanko: the implementations of [`hanko::dns::Lookup`].
//!
//! - [`Resolver`]: real DNS through hickory-resolver, with the system configuration or
//!   explicit servers, a timeout, and one cache ([`cache`]): positive answers for their TTL,
//!   negative answers for the SOA's negative TTL, each question on the wire asked once; TXT
//!   answers are kept as shared records, so the policies and keys parsed from them are
//!   parsed once per TTL.
//! - [`Zone`]: RFC 1035 zone files, for offline use and for tests.
//! - [`server::TestServer`]: a small authoritative server on loopback serving a [`Zone`],
//!   which can also misbehave on purpose; tests use it to exercise the network path.

#![forbid(unsafe_code)]

pub mod cache;
mod resolver;
pub mod server;
mod zone;

pub use resolver::{Resolver, ResolverError, ResolverSettings};
pub use zone::{RecordData, Zone, ZoneError, ZoneRecord, MAX_CNAME_CHAIN};
