//! Sending what hanko makes by e-mail: the DMARC aggregate reports a receiver owes domain
//! owners (RFC 9990 §3.1.3), as messages that pass DMARC themselves.
//!
//! [`report_message`] writes the message (RFC 5322, MIME by lettre): the subject RFC 9990
//! asks for, a short text part, the gzipped report as an `application/gzip` attachment, and
//! `Auto-Submitted: auto-generated` (RFC 3834) so that nobody answers it automatically.
//! [`dkim_sign`] signs it with hanko's signer. [`submit`] hands it to an SMTP relay (plain
//! SMTP; the relay, usually the local MTA, does TLS onwards) or to a `sendmail` program.

#![forbid(unsafe_code)]

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use hanko::dkim::{sign_message, SigningRequest};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a message could not be made or sent.
#[derive(Debug)]
pub struct SendError(pub String);

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SendError {}

/// One report to send to one destination.
#[derive(Debug, Clone)]
pub struct ReportMail<'a> {
    /// The sender (header From and MAIL FROM): an address of the reporting organization.
    pub from: &'a str,
    /// The destination, a `rua=` mailto: address.
    pub to: &'a str,
    /// The policy domain the report is about.
    pub policy_domain: &'a str,
    /// The reporter's domain (`Submitter` in the subject).
    pub submitter: &'a str,
    /// The report id.
    pub report_id: &'a str,
    /// The attachment's file name (`receiver!domain!begin!end!id.xml.gz`).
    pub file_name: &'a str,
    /// The gzipped report.
    pub gzip: &'a [u8],
    /// A line or two for the text part.
    pub text: String,
}

/// The message for `mail`, CRLF line ends.
pub fn report_message(mail: &ReportMail<'_>) -> Result<Vec<u8>, SendError> {
    let mailbox = |text: &str, what: &str| -> Result<Mailbox, SendError> {
        text.parse()
            .map_err(|e| SendError(format!("{what} {text:?} is not an address: {e}")))
    };
    let gzip = ContentType::parse("application/gzip").map_err(|e| SendError(e.to_string()))?;
    let message = Message::builder()
        .from(mailbox(mail.from, "the sender")?)
        .to(mailbox(mail.to, "the destination")?)
        .subject(format!(
            "Report Domain: {} Submitter: {} Report-ID: <{}>",
            mail.policy_domain, mail.submitter, mail.report_id
        ))
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(mail.text.clone()))
                .singlepart(
                    Attachment::new(mail.file_name.to_string()).body(mail.gzip.to_vec(), gzip),
                ),
        )
        .map_err(|e| SendError(format!("cannot make the message: {e}")))?;
    let mut bytes = b"Auto-Submitted: auto-generated\r\n".to_vec();
    bytes.extend_from_slice(&message.formatted());
    Ok(bytes)
}

/// `message` with a DKIM-Signature on top, so that the report passes DMARC for the
/// sender's domain.
pub fn dkim_sign(message: &[u8], request: SigningRequest, now: u64) -> Result<Vec<u8>, SendError> {
    sign_message(message, vec![request], now).map_err(|e| SendError(format!("cannot sign: {e}")))
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// An SMTP relay, plain SMTP (`HOST`, `PORT`).
    Smtp {
        /// The relay's name or address.
        host: String,
        /// Its port.
        port: u16,
    },
    /// A `sendmail` program (`sendmail -i -f FROM -- TO`, the message on its input).
    Sendmail {
        /// Its path.
        program: PathBuf,
    },
}

/// Hands `message` to `submission` for `to`, from `from`.
pub async fn submit(
    submission: &Submission,
    from: &str,
    to: &str,
    message: &[u8],
) -> Result<(), SendError> {
    match submission {
        Submission::Smtp { host, port } => {
            let envelope = lettre::address::Envelope::new(
                Some(
                    from.parse()
                        .map_err(|e| SendError(format!("sender {from:?}: {e}")))?,
                ),
                vec![to
                    .parse()
                    .map_err(|e| SendError(format!("destination {to:?}: {e}")))?],
            )
            .map_err(|e| SendError(e.to_string()))?;
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                .port(*port)
                .build();
            transport
                .send_raw(&envelope, message)
                .await
                .map_err(|e| SendError(format!("{host}:{port}: {e}")))?;
            Ok(())
        }
        Submission::Sendmail { program } => {
            let mut child = Command::new(program)
                .args(["-i", "-f", from, "--", to])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| SendError(format!("cannot run {}: {e}", program.display())))?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(message)
                    .map_err(|e| SendError(format!("{}: {e}", program.display())))?;
            }
            let out = child
                .wait_with_output()
                .map_err(|e| SendError(format!("{}: {e}", program.display())))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(SendError(format!(
                    "{} failed: {}",
                    program.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        }
    }
}
