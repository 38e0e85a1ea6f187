//! `Received:` trace fields (RFC 5321 §4.4, RFC 5322 §3.6.7), read the way MTAs really
//! write them.
//!
//! The grammar is `from X by Y [via] [with] [id] [for] ; date`, but the interesting facts
//! live in comments whose layout each MTA chose for itself:
//!
//! | MTA | `from` clause |
//! |---|---|
//! | Postfix, Sendmail, Gmail | `from HELO (RDNS [IP])`, `(unknown [IP])` without reverse DNS |
//! | Exim | `from HELO ([IP])`, or `from RDNS ([IP] helo=HELO)` when they differ |
//! | Microsoft 365 / Exchange | `from HELO (IP)` |
//! | qmail | `from RDNS (HELO name) (IP)` |
//!
//! [`Received::parse`] keeps every clause with its comments ([`Clause`]) and reads the
//! connecting client out of the `from` clause ([`Client`]). It never fails: what it cannot
//! read stays absent, and a missing or bad date is kept as the error.

use std::net::IpAddr;

use super::date::{parse_date_time, DateError, DateTime};

/// One clause of a Received field: a keyword (`from`, `by`, `via`, `with`, `id`, `for`, or an
/// unregistered one such as Exim's `tls`), its value and the comments that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The keyword in lower case; empty for words before any keyword.
    pub keyword: String,
    /// The value: the words after the keyword, joined by one space (`Microsoft SMTP Server`).
    pub value: String,
    /// The comments after the value, without their outer parentheses.
    pub comments: Vec<String>,
}

/// The SMTP client a `from` clause records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Client {
    /// The name after `from`: usually the HELO name, for Exim and qmail the reverse DNS name
    /// when the HELO differs; `[IP]` when the client gave an address literal.
    pub name: String,
    /// The HELO name when the MTA wrote it apart (`helo=` for Exim, `HELO x` for qmail).
    pub helo: Option<String>,
    /// The reverse DNS name the receiving MTA found, when it wrote one (not `unknown`).
    pub reverse_dns: Option<String>,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
}

impl Client {
    /// The HELO/EHLO name the client gave: the one written apart, else the `from` name.
    pub fn helo_name(&self) -> &str {
        self.helo.as_deref().unwrap_or(&self.name)
    }
}

/// A parsed `Received:` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Every clause in order.
    pub clauses: Vec<Clause>,
    /// The client the `from` clause records, when there is a `from` clause.
    pub client: Option<Client>,
    /// The date after the last `;`, or why it could not be read.
    pub date: Result<DateTime, DateError>,
}

/// Keywords of RFC 5321 §4.4 (`Stamp`).
const KEYWORDS: [&str; 6] = ["from", "by", "via", "with", "id", "for"];

/// SMTP protocol names that mean the hop was encrypted (RFC 3848, RFC 6531 §3.7.3).
const TLS_PROTOCOLS: [&str; 8] = [
    "esmtps",
    "esmtpsa",
    "utf8smtps",
    "utf8smtpsa",
    "lmtps",
    "lmtpsa",
    "smtps",
    "smtpsa",
];

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Comment(String),
    Semicolon(usize),
}

/// Splits a field value into words, comments (nesting kept inside the text) and top-level
/// semicolons with their byte offsets.
fn tokens(value: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = value.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon(at));
            }
            '(' => {
                chars.next();
                let mut depth = 1usize;
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, next)) = chars.next() {
                                text.push(next);
                            }
                        }
                        '(' => {
                            depth += 1;
                            text.push(c);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        c => text.push(c),
                    }
                }
                out.push(Token::Comment(text.trim().to_string()));
            }
            _ => {
                let mut word = String::new();
                let mut closer = None;
                while let Some(&(_, c)) = chars.peek() {
                    if closer.is_none() && (c.is_whitespace() || c == '(' || c == ';') {
                        break;
                    }
                    chars.next();
                    word.push(c);
                    match (closer, c) {
                        (None, '"') => closer = Some('"'),
                        (None, '<') => closer = Some('>'),
                        (None, '[') => closer = Some(']'),
                        (Some(end), c) if c == end && word.len() > 1 => closer = None,
                        _ => {}
                    }
                }
                out.push(Token::Word(word));
            }
        }
    }
    out
}

impl Received {
    /// Reads a Received field value (unfolded or not).
    pub fn parse(value: &str) -> Received {
        let tokens = tokens(value);
        // The date follows the last top-level `;` (RFC 5321 §4.4 `Stamp`).
        let last_semicolon = tokens
            .iter()
            .rposition(|t| matches!(t, Token::Semicolon(_)));
        let date = match last_semicolon.map(|i| &tokens[i]) {
            Some(Token::Semicolon(at)) => parse_date_time(&value[at + 1..]),
            _ => Err(DateError::Syntax("a ';' before the date of Received:")),
        };
        let clause_tokens = &tokens[..last_semicolon.unwrap_or(tokens.len())];

        let mut clauses: Vec<Clause> = Vec::new();
        let mut after_comment = false;
        for token in clause_tokens {
            match token {
                Token::Word(word) => {
                    let keyword = word.to_ascii_lowercase();
                    let is_keyword = KEYWORDS.contains(&keyword.as_str());
                    match clauses.last_mut() {
                        // After a keyword the next word is its value, even one that looks
                        // like a keyword.
                        Some(last) if !last.keyword.is_empty() && last.value.is_empty() => {
                            last.value = word.clone();
                        }
                        // More words extend the value (`with Microsoft SMTP Server`) until a
                        // keyword or a comment.
                        Some(last) if !is_keyword && !after_comment => {
                            last.value.push(' ');
                            last.value.push_str(word);
                        }
                        // A word after a comment starts a clause: a registered keyword, or
                        // an unregistered one such as Exim's `tls`.
                        _ if is_keyword
                            || word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
                        {
                            clauses.push(Clause {
                                keyword,
                                value: String::new(),
                                comments: Vec::new(),
                            });
                        }
                        _ => clauses.push(Clause {
                            keyword: String::new(),
                            value: word.clone(),
                            comments: Vec::new(),
                        }),
                    }
                    after_comment = false;
                }
                Token::Comment(text) => {
                    match clauses.last_mut() {
                        Some(clause) => clause.comments.push(text.clone()),
                        None => clauses.push(Clause {
                            keyword: String::new(),
                            value: String::new(),
                            comments: vec![text.clone()],
                        }),
                    }
                    after_comment = true;
                }
                // A `;` before the last one: stray, as in `for <a>; <b>; date`; ignored.
                Token::Semicolon(_) => {}
            }
        }
        let client = clauses.iter().find(|c| c.keyword == "from").map(client_of);
        Received {
            clauses,
            client,
            date,
        }
    }

    /// The first clause with this keyword (lower case).
    pub fn clause(&self, keyword: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.keyword == keyword)
    }

    fn value(&self, keyword: &str) -> Option<&str> {
        self.clause(keyword)
            .map(|c| c.value.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The receiving host (`by`).
    pub fn by(&self) -> Option<&str> {
        self.value("by")
    }

    /// The protocol (`with`): `ESMTPS`, `SMTP`, `Microsoft SMTP Server`, ...
    pub fn with(&self) -> Option<&str> {
        self.value("with")
    }

    /// The receiving host's queue or message id (`id`).
    pub fn id(&self) -> Option<&str> {
        self.value("id")
    }

    /// The recipient (`for`), angle brackets removed.
    pub fn recipient(&self) -> Option<&str> {
        self.value("for")
            .map(|v| v.trim_start_matches('<').trim_end_matches('>'))
    }

    /// How the hop was encrypted, when the field says: the comment naming TLS (`using TLSv1.3
    /// with cipher ...`, `version=TLS1_2, cipher=...`, `Google Transport Security`, Exim's
    /// `tls` clause), else the protocol word when it is one of RFC 3848's `...S` names.
    pub fn tls(&self) -> Option<String> {
        for clause in &self.clauses {
            if clause.keyword == "tls" && !clause.value.is_empty() {
                return Some(clause.value.clone());
            }
            if let Some(comment) = clause.comments.iter().find(|c| {
                let upper = c.to_ascii_uppercase();
                upper.contains("TLS") || upper.contains("TRANSPORT SECURITY")
            }) {
                return Some(comment.clone());
            }
        }
        self.with()
            .and_then(|w| w.split_whitespace().next())
            .filter(|w| TLS_PROTOCOLS.contains(&w.to_ascii_lowercase().as_str()))
            .map(str::to_string)
    }
}

/// Reads an IP address from `[1.2.3.4]`, `[IPv6:2001:db8::1]` or a bare address.
fn ip_of(text: &str) -> Option<IpAddr> {
    let inner = text
        .trim_matches(|c| c == '[' || c == ']' || c == ',')
        .trim();
    let inner = inner
        .strip_prefix("IPv6:")
        .or_else(|| inner.strip_prefix("ipv6:"))
        .unwrap_or(inner);
    // Some MTAs add a zone or port: `[fe80::1%eth0]`, `1.2.3.4:25` is not used in Received.
    inner.split('%').next().unwrap_or(inner).parse().ok()
}

fn client_of(clause: &Clause) -> Client {
    let name = clause
        .value
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    // An address literal as the name is what the client said in HELO (`EHLO [10.0.0.5]`,
    // often a private address behind NAT); the address in the comment is the peer the MTA
    // saw, so it wins.
    let literal = ip_of(&name).filter(|_| name.starts_with('['));
    let mut client = Client {
        name,
        ..Client::default()
    };
    for comment in &clause.comments {
        let words: Vec<&str> = comment.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            let lower = word.to_ascii_lowercase();
            if let Some(helo) = lower.strip_prefix("helo=") {
                if client.helo.is_none() && !helo.is_empty() {
                    client.helo = Some(word[5..].trim_end_matches(')').to_string());
                }
            } else if lower == "helo" && i + 1 < words.len() {
                client.helo.get_or_insert_with(|| words[i + 1].to_string());
                i += 1;
            } else if word.starts_with('[') {
                if client.ip.is_none() {
                    client.ip = ip_of(word);
                }
            } else if let Some(ip) = ip_of(word) {
                client.ip.get_or_insert(ip);
            } else if i == 0
                && client.reverse_dns.is_none()
                && words.get(1).is_some_and(|next| next.starts_with('['))
                && !lower.eq_ignore_ascii_case("unknown")
            {
                // `(RDNS [IP])`: Postfix, Sendmail, Gmail.
                client.reverse_dns = Some(word.trim_end_matches('.').to_string());
            }
            i += 1;
        }
    }
    // Exim's `from RDNS ([IP] helo=HELO)` and qmail's `from RDNS (HELO x)`: the name is the
    // reverse DNS name.
    if client.helo.is_some()
        && client.reverse_dns.is_none()
        && !client.name.starts_with('[')
        && !client.name.eq_ignore_ascii_case("unknown")
    {
        client.reverse_dns = Some(client.name.clone());
    }
    if client.ip.is_none() {
        client.ip = literal;
    }
    client
}

/// The address in a `Return-Path:` value: `Some("")` for the null path `<>`, `None` when the
/// value is not a path (RFC 5321 §4.4 `Return-path-line`).
pub fn return_path(value: &str) -> Option<String> {
    let value = value.trim();
    let inner = value.strip_prefix('<')?.split('>').next()?;
    let inner = inner.trim();
    // A source route (`<@a,@b:user@host>`) is dropped, as RFC 5321 §4.1.2 allows.
    let inner =
        inner.rsplit_once(':').map_or(
            inner,
            |(route, addr)| {
                if route.starts_with('@') {
                    addr
                } else {
                    inner
                }
            },
        );
    Some(inner.to_string())
}

/// The SMTP connection a receiving MTA recorded at the top of a message it delivered: what
/// `hanko verify --trust-received` evaluates SPF with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedConnection {
    /// Which Received field it came from: 1 is the topmost field of the message.
    pub field_number: usize,
    /// The client's IP address.
    pub ip: IpAddr,
    /// The HELO/EHLO name ([`Client::helo_name`]).
    pub helo: String,
    /// MAIL FROM, from the topmost `Return-Path:` (the delivering MTA writes it, RFC 5321
    /// §4.4); `Some("")` for a bounce, `None` when there is no Return-Path.
    pub mail_from: Option<String>,
}

/// Why no connection could be read from the trace fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceError {
    /// Fewer Received fields that record a client IP than the hop asked for.
    NotEnoughHops {
        /// The hop asked for (1 = topmost).
        wanted: usize,
        /// How many Received fields record a client IP.
        found: usize,
    },
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceError::NotEnoughHops { wanted, found } => write!(
                f,
                "hop {wanted} asked for, but only {found} Received field(s) record a client IP address"
            ),
        }
    }
}

impl std::error::Error for TraceError {}

/// The connection recorded by the `hop`-th Received field (from the top, counting only fields
/// whose `from` clause holds an IP address, so a mailbox server's internal `by ... with LMTP`
/// hops without one are passed over), with MAIL FROM from the topmost Return-Path.
///
/// Trust is the caller's decision: only the fields written by the caller's own MTAs are
/// true, and everything below them may be forged by the sender.
pub fn traced_connection(
    headers: &super::Headers,
    hop: usize,
) -> Result<TracedConnection, TraceError> {
    let hop = hop.max(1);
    let mut found = 0;
    for (number, field) in headers.named("Received").enumerate() {
        let received = Received::parse(&field.unfolded_value());
        let Some(client) = received.client else {
            continue;
        };
        let Some(ip) = client.ip else { continue };
        found += 1;
        if found == hop {
            let mail_from = headers
                .named("Return-Path")
                .next()
                .and_then(|f| return_path(&f.unfolded_value()));
            return Ok(TracedConnection {
                field_number: number + 1,
                ip,
                helo: client.helo_name().to_string(),
                mail_from,
            });
        }
    }
    Err(TraceError::NotEnoughHops { wanted: hop, found })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(value: &str) -> Client {
        Received::parse(value).client.expect("a from clause")
    }

    #[test]
    fn postfix_with_tls() {
        let r = Received::parse(
            "from mail.example.org (mail-out.example.org [203.0.113.9])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519)\r\n\t(No client certificate requested)\r\n\tby mx.example.net (Postfix) with ESMTPS id 4ABCD\r\n\tfor <ann@example.net>; Mon, 23 Nov 2026 10:00:00 +0000 (UTC)",
        );
        let c = r.client.clone().unwrap();
        assert_eq!(c.name, "mail.example.org");
        assert_eq!(c.helo_name(), "mail.example.org");
        assert_eq!(c.reverse_dns.as_deref(), Some("mail-out.example.org"));
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(r.by(), Some("mx.example.net"));
        assert_eq!(r.with(), Some("ESMTPS"));
        assert_eq!(r.id(), Some("4ABCD"));
        assert_eq!(r.recipient(), Some("ann@example.net"));
        assert!(r.tls().unwrap().starts_with("using TLSv1.3"));
        assert_eq!(r.date.unwrap().unix_seconds, 1_795_428_000);
    }

    #[test]
    fn unknown_reverse_dns_and_ipv6() {
        let c = client("from helo.example (unknown [IPv6:2001:db8::25]) by mx.example.net (Postfix) with ESMTP id X; Mon, 23 Nov 2026 10:00:00 +0000");
        assert_eq!(c.reverse_dns, None);
        assert_eq!(c.ip, Some("2001:db8::25".parse().unwrap()));
        assert_eq!(c.helo_name(), "helo.example");
    }

    #[test]
    fn exim_forms() {
        let r = Received::parse("from rdns.example.org ([203.0.113.9] helo=mail.example.org)\r\n\tby mx.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n\t(Exim 4.96)\r\n\t(envelope-from <a@example.org>)\r\n\tid 1tAbCd-000123-Ef\r\n\tfor b@example.net; Mon, 23 Nov 2026 10:00:00 +0000");
        let c = r.client.clone().unwrap();
        assert_eq!(c.helo_name(), "mail.example.org");
        assert_eq!(c.reverse_dns.as_deref(), Some("rdns.example.org"));
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(r.with(), Some("esmtps"));
        assert_eq!(r.tls().as_deref(), Some("TLS1.3"));
        assert_eq!(r.id(), Some("1tAbCd-000123-Ef"));
        assert_eq!(r.recipient(), Some("b@example.net"));
        assert_eq!(r.clause("tls").unwrap().value, "TLS_AES_256_GCM_SHA384");
        let c = client(
            "from [203.0.113.9] (helo=mail.example.org) by mx with smtp; 1 Jan 2026 00:00 +0000",
        );
        assert_eq!(c.helo_name(), "mail.example.org");
        assert_eq!(c.reverse_dns, None);
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn microsoft_gmail_qmail_sendmail() {
        let r = Received::parse("from BN8PR12MB3456.namprd12.prod.outlook.com (2603:10b6:408:6e::20) by DM6PR12MB1234.namprd12.prod.outlook.com (2603:10b6:5:1c0::15) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7519.11; Mon, 23 Nov 2026 10:00:00 +0000");
        let c = r.client.clone().unwrap();
        assert_eq!(c.ip, Some("2603:10b6:408:6e::20".parse().unwrap()));
        assert_eq!(r.with(), Some("Microsoft SMTP Server"));
        assert!(r.tls().unwrap().contains("TLS1_2"));
        assert_eq!(r.id(), Some("15.20.7519.11"));

        let r = Received::parse("from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n        by mx.google.com with SMTPS id a1sor123.2026.11.23.02.00.00\r\n        for <x@gmail.com>\r\n        (Google Transport Security);\r\n        Mon, 23 Nov 2026 02:00:00 -0800 (PST)");
        let c = r.client.clone().unwrap();
        assert_eq!(c.reverse_dns.as_deref(), Some("mail-sor-f41.google.com"));
        assert_eq!(c.ip, Some("209.85.220.41".parse().unwrap()));
        assert_eq!(r.tls().as_deref(), Some("Google Transport Security"));
        assert_eq!(r.recipient(), Some("x@gmail.com"));

        // Gmail's internal hop has no from clause.
        let r = Received::parse("by 2002:a05:6a10:a0c8:b0:5d1:2b3c:4d5e with SMTP id z8csp123; Mon, 23 Nov 2026 02:00:01 -0800 (PST)");
        assert!(r.client.is_none());
        assert_eq!(r.by(), Some("2002:a05:6a10:a0c8:b0:5d1:2b3c:4d5e"));

        let c = client("from unknown (HELO mail.example.org) (203.0.113.9) by host.example.net with SMTP; 23 Nov 2026 10:00:00 -0000");
        assert_eq!(c.helo_name(), "mail.example.org");
        assert_eq!(c.reverse_dns, None);
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));

        let c = client("from mail.example.org (host.example.org [203.0.113.9] (may be forged)) by mx.example.net (8.15.2/8.15.2) with ESMTP id 2ANA0000001; Mon, 23 Nov 2026 10:00:00 GMT");
        assert_eq!(c.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(c.reverse_dns.as_deref(), Some("host.example.org"));
    }

    #[test]
    fn broken_fields_keep_what_they_can() {
        let r = Received::parse("from x (unclosed [192.0.2.1]");
        assert!(r.date.is_err());
        assert_eq!(r.client.unwrap().ip, Some("192.0.2.1".parse().unwrap()));
        let r = Received::parse("");
        assert!(r.clauses.is_empty() && r.client.is_none() && r.date.is_err());
        let r = Received::parse("(qmail 12345 invoked from network); 23 Nov 2026 10:00:00 -0000");
        assert!(r.client.is_none());
        assert_eq!(r.clauses[0].comments, ["qmail 12345 invoked from network"]);
        assert!(r.date.is_ok());
        // A keyword as a value is a value.
        let r = Received::parse("from by by with with id; 1 Jan 2026 00:00 +0000");
        assert_eq!(r.client.as_ref().unwrap().name, "by");
        assert_eq!(r.by(), Some("with"));
        assert_eq!(r.id(), None);
    }

    #[test]
    fn the_connection_from_the_trusted_hop() {
        let headers = crate::message::Headers::parse(
            b"Return-Path: <bounce@example.org>\r\n\
Received: from mx.example.net (mx.example.net [10.0.0.5]) by imap.example.net with LMTP; 1 Jan 2026 00:00 +0000\r\n\
Received: by mx.example.net (Postfix, from userid 0) id 1; 1 Jan 2026 00:00 +0000\r\n\
Received: from mail.example.org (out.example.org [203.0.113.9]) by mx.example.net (Postfix) with ESMTP id 2; 1 Jan 2026 00:00 +0000\r\n\
Received: from forged (forged [192.0.2.66]) by mail.example.org; 1 Jan 2026 00:00 +0000\r\n",
            &Default::default(),
        )
        .unwrap();
        let top = traced_connection(&headers, 1).unwrap();
        assert_eq!(top.ip, "10.0.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(top.field_number, 1);
        let second = traced_connection(&headers, 2).unwrap();
        assert_eq!(second.field_number, 3);
        assert_eq!(second.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(second.helo, "mail.example.org");
        assert_eq!(second.mail_from.as_deref(), Some("bounce@example.org"));
        assert_eq!(
            traced_connection(&headers, 4),
            Err(TraceError::NotEnoughHops {
                wanted: 4,
                found: 3
            })
        );
    }

    #[test]
    fn return_paths() {
        assert_eq!(
            return_path("<a@example.com>").as_deref(),
            Some("a@example.com")
        );
        assert_eq!(return_path(" <> ").as_deref(), Some(""));
        assert_eq!(
            return_path("<@relay.example:a@example.com>").as_deref(),
            Some("a@example.com")
        );
        assert_eq!(return_path("a@example.com"), None);
    }
}
