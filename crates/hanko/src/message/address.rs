//! Mailboxes in an address header field (RFC 5322 §3.4), as DMARC needs them: the domain of
//! each author in From.
//!
//! ```text
//! address-list = (address *("," address)) / obs-addr-list
//! address      = mailbox / group
//! mailbox      = name-addr / addr-spec
//! name-addr    = [display-name] angle-addr
//! group        = display-name ":" [group-list] ";" [CFWS]
//! ```
//!
//! [`parse_mailboxes`] reads the grammar. Real From fields are sometimes broken (a quoted name
//! followed by a bare address, stray brackets); [`salvage_mailboxes`] then finds every address
//! outside quoted strings and comments, so that a broken field yields all the domains it could
//! mean rather than a convenient one.

use std::fmt;

/// One mailbox: the address and, when written, the display name (undecoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name as written (quotes removed; RFC 2047 words left encoded).
    pub display_name: Option<String>,
    /// The local part (quotes removed).
    pub local_part: String,
    /// The domain as written (a domain literal keeps its brackets).
    pub domain: String,
}

/// Why an address list did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError {
    /// What was wrong.
    pub problem: &'static str,
    /// Character offset.
    pub position: usize,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at character {}", self.problem, self.position)
    }
}

impl std::error::Error for AddressError {}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn error(&self, problem: &'static str) -> AddressError {
        AddressError {
            problem,
            position: self.pos,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn cfws(&mut self) -> Result<(), AddressError> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => self.pos += 1,
                Some('(') => {
                    let mut depth = 0usize;
                    loop {
                        match self.peek() {
                            None => return Err(self.error("unclosed comment")),
                            Some('\\') => self.pos += 2,
                            Some('(') => {
                                depth += 1;
                                self.pos += 1;
                            }
                            Some(')') => {
                                depth -= 1;
                                self.pos += 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn quoted(&mut self) -> Result<String, AddressError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unclosed quoted string")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.pos += 1;
                    }
                }
                Some('\r' | '\n') => self.pos += 1,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn atom(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_atext) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A `word` (atom or quoted-string) after CFWS, or `None`.
    fn word(&mut self) -> Result<Option<String>, AddressError> {
        self.cfws()?;
        match self.peek() {
            Some('"') => self.quoted().map(Some),
            Some(c) if is_atext(c) => Ok(Some(self.atom())),
            _ => Ok(None),
        }
    }

    /// `dot-atom / quoted-string / obs-local-part`: words joined by dots.
    fn local_part(&mut self) -> Result<String, AddressError> {
        let mut out = self
            .word()?
            .ok_or_else(|| self.error("expected a local part"))?;
        loop {
            self.cfws()?;
            if self.peek() != Some('.') {
                return Ok(out);
            }
            self.pos += 1;
            out.push('.');
            out.push_str(
                &self
                    .word()?
                    .ok_or_else(|| self.error("expected a word after '.'"))?,
            );
        }
    }

    /// `dot-atom / domain-literal / obs-domain`.
    fn domain(&mut self) -> Result<String, AddressError> {
        self.cfws()?;
        if self.peek() == Some('[') {
            // dtext excludes `[`, `]` and `\` (§3.4.1); obs-dtext adds the quoted-pair. A
            // literal that ran on over `[` would swallow the addresses after it.
            let start = self.pos;
            self.pos += 1;
            while let Some(c) = self.peek() {
                self.pos += 1;
                match c {
                    ']' => return Ok(self.chars[start..self.pos].iter().collect()),
                    '[' => return Err(self.error("'[' inside a domain literal")),
                    '\\' if self.peek().is_some() => self.pos += 1,
                    _ => {}
                }
            }
            return Err(self.error("unclosed domain literal"));
        }
        let mut out = self.atom();
        if out.is_empty() {
            return Err(self.error("expected a domain"));
        }
        loop {
            self.cfws()?;
            if self.peek() != Some('.') {
                return Ok(out);
            }
            self.pos += 1;
            self.cfws()?;
            let label = self.atom();
            if label.is_empty() {
                return Err(self.error("empty domain label"));
            }
            out.push('.');
            out.push_str(&label);
        }
    }

    /// `angle-addr`, at `<`; an obsolete route (`@a,@b:`) is skipped.
    fn angle_addr(&mut self) -> Result<(String, String), AddressError> {
        self.pos += 1;
        self.cfws()?;
        if self.peek() == Some('@') {
            while let Some(c) = self.peek() {
                self.pos += 1;
                if c == ':' {
                    break;
                }
            }
        }
        let local = self.local_part()?;
        if self.peek() != Some('@') {
            return Err(self.error("expected '@'"));
        }
        self.pos += 1;
        let domain = self.domain()?;
        self.cfws()?;
        if self.peek() != Some('>') {
            return Err(self.error("expected '>'"));
        }
        self.pos += 1;
        Ok((local, domain))
    }

    /// One `address`; group members are appended to `out`.
    /// One `address` (RFC 5322 §3.4): a mailbox, or outside a group (`in_group` false) a
    /// group of mailboxes. Groups do not nest, which also keeps this recursion one deep.
    fn address(&mut self, out: &mut Vec<Mailbox>, in_group: bool) -> Result<(), AddressError> {
        self.cfws()?;
        if self.peek() == Some('<') {
            let (local_part, domain) = self.angle_addr()?;
            out.push(Mailbox {
                display_name: None,
                local_part,
                domain,
            });
            return Ok(());
        }
        // A phrase (display name or group name) or the local part of an addr-spec: words,
        // possibly with dots (obs-phrase).
        let start = self.pos;
        let mut words = Vec::new();
        loop {
            match self.word()? {
                Some(w) => words.push(w),
                None if self.peek() == Some('.') && !words.is_empty() => {
                    self.pos += 1;
                    words.push(".".into());
                }
                None => break,
            }
        }
        self.cfws()?;
        match self.peek() {
            Some('<') => {
                let (local_part, domain) = self.angle_addr()?;
                out.push(Mailbox {
                    display_name: Some(words.join(" ").replace(" . ", ".")),
                    local_part,
                    domain,
                });
                Ok(())
            }
            Some(':') if !words.is_empty() && in_group => Err(self.error("a group inside a group")),
            Some(':') if !words.is_empty() => {
                self.pos += 1;
                loop {
                    self.cfws()?;
                    match self.peek() {
                        Some(';') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        Some(',') => self.pos += 1,
                        None => return Err(self.error("group without ';'")),
                        Some(_) => self.address(out, true)?,
                    }
                }
            }
            Some('@') => {
                // An addr-spec: its local part must run up to the '@'. Several words with no
                // dots between them are a phrase, and a phrase before '@' is no address
                // (`a "x(" @bank.example)` would otherwise read as a@x, its comment
                // swallowing the domain every mail client shows).
                let at = self.pos;
                self.pos = start;
                let local_part = self.local_part()?;
                self.cfws()?;
                if self.pos != at {
                    return Err(self.error("a phrase before '@'"));
                }
                self.pos += 1;
                let domain = self.domain()?;
                out.push(Mailbox {
                    display_name: None,
                    local_part,
                    domain,
                });
                Ok(())
            }
            _ => Err(self.error(if words.is_empty() {
                "expected an address"
            } else {
                "a name without an address"
            })),
        }
    }
}

/// Parses an `address-list` (RFC 5322 §3.4, with the obsolete forms of §4.4: empty list
/// elements, routes, CFWS around dots). Group members are returned in order; an empty group
/// gives none.
pub fn parse_mailboxes(value: &str) -> Result<Vec<Mailbox>, AddressError> {
    let mut p = Parser {
        chars: value.chars().collect(),
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        p.cfws()?;
        match p.peek() {
            None => break,
            Some(',') => p.pos += 1,
            Some(_) => {
                p.address(&mut out, false)?;
                p.cfws()?;
                match p.peek() {
                    None => break,
                    Some(',') => p.pos += 1,
                    Some(_) => return Err(p.error("expected ',' between addresses")),
                }
            }
        }
    }
    Ok(out)
}

/// The domain at the start of `text`: the characters a domain name can hold (letters and
/// digits of any script, `-`, `_`, `.`) up to the first other one, outer dots removed. What a
/// reader most likely shows as the domain of a broken address: `bank.example` of
/// `bank.example!` or `bank.example)`.
pub fn domain_run(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '_'))
        .unwrap_or(text.len());
    text[..end].trim_matches('.')
}

/// Every domain a field that does not parse could mean: each `@` followed by a domain,
/// anywhere in the value, inside quoted strings and comments too (readers disagree about
/// broken fields, so a salvage yields every domain any of them may show, never only the
/// convenient one). The local part is what stands before the `@` back to white space or
/// punctuation, possibly empty. Domains end at the first character a domain cannot hold.
pub fn salvage_mailboxes(value: &str) -> Vec<Mailbox> {
    // Linear in the value: each domain ends at the next character a domain cannot hold (an
    // `@` among them), each local part at the previous character a local part cannot hold.
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Mailbox> = Vec::new();
    for (at, _) in value.match_indices('@') {
        let domain = domain_run(&value[at + 1..]);
        if domain.is_empty() {
            continue;
        }
        let before = &value[..at];
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !(is_atext(c) || c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let local_part = &before[start..];
        if !seen.insert((local_part, domain)) {
            continue;
        }
        out.push(Mailbox {
            display_name: None,
            local_part: local_part.to_string(),
            domain: domain.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(value: &str) -> Vec<String> {
        parse_mailboxes(value)
            .unwrap()
            .into_iter()
            .map(|m| m.domain)
            .collect()
    }

    #[test]
    fn the_usual_forms() {
        assert_eq!(domains("joe@example.com"), ["example.com"]);
        assert_eq!(domains("Joe <joe@example.com>"), ["example.com"]);
        assert_eq!(domains("\"Doe, Joe\" <joe@example.com>"), ["example.com"]);
        assert_eq!(domains("(Joe) joe@example.com (work)"), ["example.com"]);
        assert_eq!(
            domains("a@x.example, B <b@y.example>"),
            ["x.example", "y.example"]
        );
        assert_eq!(
            domains("Team: a@x.example, b@y.example;"),
            ["x.example", "y.example"]
        );
        assert_eq!(domains("undisclosed-recipients:;"), Vec::<String>::new());
        assert_eq!(domains("<@route.example:joe@example.com>"), ["example.com"]);
        assert_eq!(domains("joe @ example . com"), ["example.com"]);
        assert_eq!(
            domains("=?UTF-8?B?QmVkIEJhdGggJiBCZXlvbmQ=?=<BdBth&Byond@example.com>"),
            ["example.com"]
        );
        let m = &parse_mailboxes("\"ceo@bank.example\" <x@attacker.example>").unwrap()[0];
        assert_eq!(m.domain, "attacker.example");
    }

    #[test]
    fn broken_fields_are_errors_and_salvage_finds_every_address() {
        assert!(parse_mailboxes("Test User").is_err());
        assert!(parse_mailboxes("\"Johnson, Joe <joe@joe.com>\" joe@joe.com").is_err());
        let salvaged = salvage_mailboxes("\"Johnson, Joe <joe@joe.com>\" joe@joe.com");
        assert_eq!(salvaged.len(), 1, "{salvaged:?}");
        assert_eq!(salvaged[0].domain, "joe.com");
        assert_eq!(
            salvage_mailboxes("<<<><joe@joe.com>>>")[0].domain,
            "joe.com"
        );
        assert_eq!(salvage_mailboxes("Test User"), []);
        assert_eq!(salvage_mailboxes("<a@x.example> <b@y.example>").len(), 2);
    }

    fn salvaged_domains(value: &str) -> Vec<String> {
        salvage_mailboxes(value)
            .into_iter()
            .map(|m| m.domain)
            .collect()
    }

    /// `value` does not parse, and the salvage still finds bank.example in it.
    fn assert_broken_but_salvages_bank_example(value: &str) {
        let parsed = parse_mailboxes(value);
        assert!(parsed.is_err(), "{value}: {parsed:?}");
        assert!(
            salvaged_domains(value).contains(&"bank.example".to_string()),
            "{value}: {:?}",
            salvaged_domains(value)
        );
    }

    #[test]
    fn a_phrase_before_at_is_not_an_address() {
        // Several words, then '@': a display name without angle brackets, never an address.
        for value in [
            "a \"attacker.example(\" @bank.example)",
            "a \"x\" @bank.example",
            "Joe Smith @bank.example",
            "a b@bank.example",
            "\"a\" \"b\"@bank.example",
            "a (c) b @bank.example",
        ] {
            assert_broken_but_salvages_bank_example(value);
        }
        // Dotted words are one local part (obs-local-part), and CFWS may surround the '@'.
        assert_eq!(domains("a.b @ example.com"), ["example.com"]);
        assert_eq!(domains("\"a b\".c@example.com"), ["example.com"]);
        assert_eq!(domains("a (comment) @example.com"), ["example.com"]);
    }

    #[test]
    fn a_domain_literal_ends_at_its_first_bracket() {
        // dtext excludes '[' and a lone '\\': a literal that ran on would swallow the
        // addresses after it, which a reader shows.
        for value in [
            "x@[192.0.2.1 ,@bank.example, [x]",
            "x@[a[b], ceo@bank.example",
            "x@[a\\], ceo@bank.example",
            "x@[192.0.2.1, ceo@bank.example",
        ] {
            assert_broken_but_salvages_bank_example(value);
        }
        assert_eq!(domains("x@[192.0.2.1]"), ["[192.0.2.1]"]);
        assert_eq!(domains("x@[IPv6:2001:db8::1]"), ["[IPv6:2001:db8::1]"]);
        assert_eq!(domains("x@[a\\]b], y@z.example"), ["[a\\]b]", "z.example"]);
    }

    #[test]
    fn salvage_yields_every_domain_the_field_could_mean() {
        // Each broken field names bank.example somewhere a reader may show it; the salvage
        // must find it whatever surrounds it, besides the attacker's clean address.
        for value in [
            "x@attacker.example, ceo@bank.example)",
            "x@attacker.example, ceo@bank.example!",
            "x@attacker.example ceo@bank.example>",
            "<x@attacker.example> \"ceo@bank.example",
            "(x@attacker.example) <ceo@bank.example",
            "\"x@attacker.example\" <@bank.example>>",
            "x@attacker.example, <ceo@bank.example.>",
            "x@attacker.example,,ceo@bank.example;;",
            "=?utf-8?q?ceo?= <ceo@bank.example>>",
        ] {
            let found = salvaged_domains(value);
            assert!(
                found.iter().any(|d| d == "bank.example"),
                "{value}: {found:?}"
            );
        }
        assert_eq!(
            salvaged_domains("ceo@bank.example)x@attacker.example"),
            ["bank.example", "attacker.example"]
        );
    }

    #[test]
    fn groups_do_not_nest() {
        let ok = parse_mailboxes("team: a@x.example, b@y.example;, c@z.example").unwrap();
        assert_eq!(ok.len(), 3);
        let err = parse_mailboxes("outer: inner: a@x.example;;").unwrap_err();
        assert!(err.to_string().contains("group inside a group"), "{err}");
        // Found by fuzzing: thousands of `name:` in a row once recursed until the stack ran out.
        let deep = "a:".repeat(100_000);
        assert!(parse_mailboxes(&deep).is_err());
    }
}
