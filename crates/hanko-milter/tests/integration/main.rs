//! hanko-milter over its protocol and as a daemon, one binary, with no MTA. The end-to-end
//! tier runs a private Postfix (`postfix`, and `postfix_load`, a binary of its own because it
//! reports the milter's throughput and memory, which parallel tests would disturb).

#[path = "../common/mod.rs"]
mod common;

mod daemon;
mod manuals;
mod milter_protocol;
