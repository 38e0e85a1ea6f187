//! `hanko spf`: evaluate SPF for a client IP, MAIL FROM and HELO.

use std::net::IpAddr;

use clap::Args;
use hanko::authres::{self, AuthenticationResults};
use hanko::spf::{check_helo, check_mail_from, received_spf, SpfConfig, SpfOutcome, TraceEvent};
use serde_json::{json, Value};

use crate::dns::DnsArgs;

/// Options of `hanko spf`.
#[derive(Args, Debug)]
pub struct SpfArgs {
    /// The SMTP client's IP address (IPv4 or IPv6).
    #[arg(long)]
    pub ip: IpAddr,
    /// The MAIL FROM address; empty (`--mail-from ''`) for a bounce, which checks
    /// postmaster@ the HELO name.
    #[arg(long = "mail-from", value_name = "ADDR")]
    pub mail_from: Option<String>,
    /// The HELO/EHLO name.
    #[arg(long, value_name = "NAME")]
    pub helo: String,
    /// Check the HELO identity instead of MAIL FROM (the default without --mail-from).
    #[arg(long = "check-helo")]
    pub check_helo: bool,
    /// This host's name, for Received-SPF `receiver=` and the `%{r}` macro.
    #[arg(long, default_value = "hanko")]
    pub receiver: String,
    /// The explanation for a `fail` when the policy gives none (macros such as %{i} and %{o}
    /// allowed). Default: "%{c} is not allowed to send mail for %{o}".
    #[arg(long, value_name = "TEXT")]
    pub explanation: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also print every record, term and lookup of the evaluation.
    #[arg(long)]
    pub trace: bool,
}

/// Runs the check and prints the result. Exit status 0 whenever it ran.
pub async fn run(args: SpfArgs, dns: &DnsArgs) -> anyhow::Result<u8> {
    let lookup = dns.lookup()?;
    let mut config = SpfConfig {
        receiver: args.receiver.clone(),
        ..SpfConfig::default()
    };
    if let Some(explanation) = &args.explanation {
        config.default_explanation = explanation.clone();
    }
    let now = crate::now();
    let outcome = match (&args.mail_from, args.check_helo) {
        (Some(mail_from), false) => {
            check_mail_from(&*lookup, &config, args.ip, mail_from, &args.helo, now).await
        }
        _ => check_helo(&*lookup, &config, args.ip, &args.helo, now).await,
    };
    if args.json {
        println!("{:#}", json_of(&outcome, &args.receiver, args.trace));
    } else {
        println!("{}", received_spf(&outcome, &args.receiver));
        println!("{}", authentication_results(&outcome, &args.receiver));
        if let Some(problem) = &outcome.problem {
            println!("{}: {problem}", outcome.verdict);
        }
        if let Some(explanation) = &outcome.explanation {
            println!("explanation: {explanation}");
        }
        if args.trace {
            print!("{}", trace_text(&outcome));
        }
    }
    Ok(0)
}

fn event_text(event: &TraceEvent) -> String {
    match event {
        TraceEvent::Lookup { kind, name, answer } => match answer {
            Ok(records) => format!("{kind} {name} -> {}", records.join(" | ")),
            Err(error) => format!("{kind} {name} -> {error}"),
        },
        TraceEvent::Record { domain, text } => format!("record {domain}: {text}"),
        TraceEvent::Term { term, matched } => {
            format!("{term} {}", if *matched { "matched" } else { "no match" })
        }
        TraceEvent::Include { domain } => format!("include {domain}"),
        TraceEvent::Redirect { domain } => format!("redirect {domain}"),
    }
}

/// The evaluation as an indented tree.
fn trace_text(outcome: &SpfOutcome) -> String {
    let mut out = String::from("trace:\n");
    for step in &outcome.trace {
        out.push_str(&"  ".repeat(step.depth + 1));
        out.push_str(&event_text(&step.event));
        out.push('\n');
    }
    out.push_str(&format!(
        "  {} DNS-querying terms, {} void lookups\n",
        outcome.dns_lookups, outcome.void_lookups
    ));
    out
}

/// The Authentication-Results field with the SPF result, LF line ends.
fn authentication_results(outcome: &SpfOutcome, receiver: &str) -> String {
    let mut field = AuthenticationResults::new(receiver);
    field.results.push(authres::from::spf(outcome));
    field.to_field().replace("\r\n", "\n")
}

fn json_of(outcome: &SpfOutcome, receiver: &str, trace: bool) -> Value {
    let mut value = json!({
        "result": outcome.verdict.as_str(),
        "explanation": outcome.explanation,
        "problem": outcome.problem.as_ref().map(ToString::to_string),
        "identity": outcome.identity.as_str(),
        "domain": outcome.domain,
        "sender": outcome.sender,
        "ip": outcome.ip.to_string(),
        "helo": outcome.helo,
        "mechanism": outcome.matched.as_ref().map(|m| m.term.clone()),
        "mechanism_domain": outcome.matched.as_ref().map(|m| m.domain.clone()),
        "dns_lookups": outcome.dns_lookups,
        "void_lookups": outcome.void_lookups,
        "received_spf": received_spf(outcome, receiver),
        "authentication_results": authentication_results(outcome, receiver),
    });
    if trace {
        value["trace"] = outcome
            .trace
            .iter()
            .map(|s| json!({"depth": s.depth, "step": event_text(&s.event)}))
            .collect();
    }
    value
}
