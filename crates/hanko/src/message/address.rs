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
            let start = self.pos;
            while let Some(c) = self.peek() {
                self.pos += 1;
                if c == ']' {
                    return Ok(self.chars[start..self.pos].iter().collect());
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
                self.pos = start;
                let local_part = self.local_part()?;
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

/// Every `local@domain` outside quoted strings and comments, for a field that does not parse.
/// Angle brackets and other punctuation only separate.
pub fn salvage_mailboxes(value: &str) -> Vec<Mailbox> {
    let mut plain = String::new();
    let mut chars = value.chars().peekable();
    let mut depth = 0usize;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted || depth > 0 => {
                chars.next();
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                plain.push(' ');
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                plain.push(' ');
            }
            _ if quoted || depth > 0 => {}
            c => plain.push(c),
        }
    }
    plain
        .split(|c: char| c.is_whitespace() || "<>,;:\"".contains(c))
        .filter_map(|token| {
            let (local, domain) = token.rsplit_once('@')?;
            let domain = domain.trim_end_matches('.');
            let clean = !local.is_empty()
                && !domain.is_empty()
                && local.chars().all(|c| is_atext(c) || c == '.')
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == '_');
            clean.then(|| Mailbox {
                display_name: None,
                local_part: local.to_string(),
                domain: domain.to_string(),
            })
        })
        .collect()
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
        assert_eq!(salvaged.len(), 1);
        assert_eq!(salvaged[0].domain, "joe.com");
        assert_eq!(
            salvage_mailboxes("<<<><joe@joe.com>>>")[0].domain,
            "joe.com"
        );
        assert_eq!(salvage_mailboxes("Test User"), []);
        assert_eq!(salvage_mailboxes("<a@x.example> <b@y.example>").len(), 2);
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
