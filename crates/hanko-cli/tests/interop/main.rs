//! hanko against independent peers, one binary behind the feature `interop-tests`: dkimpy
//! and authheaders (Python, from PyPI), OpenDKIM and Mail::DKIM (Debian), and Python's
//! `email` package reading From fields. `bash scripts/test.sh` installs the peers; each test says what it needs
//! when a peer is missing. The peers' Python sides are in this folder.

#[path = "../common/mod.rs"]
mod common;

mod dns_server;
mod interop_addresses;
mod interop_authheaders;
mod interop_bind;
mod interop_dkimpy;
mod interop_mail_dkim;
mod interop_opendkim;
mod interop_reports;
mod interop_route53;
mod interop_rspamd;
