//! The resolver, zone files and the loopback DNS server through their public API, one binary.
//! `dns_faults` is a binary of its own: it counts the process's open descriptors, which
//! parallel tests would change.

mod kept_answers;
mod loopback_server;
