//! The library's integration tests, one binary: each module covers one subject through the
//! public API only (DNS from maps and zone files, no network). `streaming_memory` is a binary
//! of its own, because it measures the whole process's peak memory.

#[path = "../common/mod.rs"]
mod common;

mod arc;
mod author_spoofing;
mod authres_round_trip;
mod dmarc_rfc9989;
mod hostile_corpus;
mod hostile_input;
mod kept_records;
mod limits;
mod readme;
mod receiver;
mod spf_hostile_input;
