//! The receiver in about fifteen lines: read a message, run a receiving server's checks, print
//! the Authentication-Results field. The README shows the part between the markers.
//!
//!     cargo run -p hanko --example receive < examples/message.eml

use hanko::dns::StaticLookup;
use hanko::receiver::{Connection, Receiver, ReceiverConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    // README begin
    // DNS: a map here; hanko_dns::Resolver or hanko_dns::Zone in a real program.
    let dns = StaticLookup::new()
        .with_txt("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
        .with_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    let config = ReceiverConfig::new("mx.example.net"); // the authserv-id; defaults documented
    let message = Receiver::read(&config, std::io::stdin().lock())?; // body hashed as it streams
    let connection = Connection {
        ip: "192.0.2.1".parse()?,
        helo: "mail.example.com",
        mail_from: "joe@example.com",
        received_field: None, // given by the MTA, not read from a Received field
    };
    let now = std::time::UNIX_EPOCH.elapsed()?.as_secs(); // Unix time
    let receipt = runtime.block_on(message.finish(&dns, Some(connection), now));
    println!("{}", receipt.authentication_results().to_field());
    // DMARC passed, or no DMARC policy and every DKIM signature passed:
    println!("authenticated: {}", receipt.passed());
    // README end
    Ok(())
}
