//! RFC 1035 §5 master files ("zone files") as an offline [`Lookup`].
//!
//! Reads what `hanko keygen` and `opendkim-genkey` write, and what people paste from DNS
//! consoles: `$ORIGIN`, `$TTL`, `@`, relative names, omitted owners, TTL and class in either
//! order, `;` comments, parenthesised records over several lines, and TXT records made of
//! several quoted strings with `\"`, `\\` and `\DDD` escapes. Record types A, AAAA, TXT, MX,
//! PTR and CNAME are served; SPF (type 99, which RFC 7208 §3.1 says not to query), NS, SOA and
//! other types are accepted and make their owner exist, but are not served.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use hanko::dns::{
    check_name, reverse_name, DnsError, Lookup, LookupFuture, Mx, TxtAnswer, TxtRecord, TxtRecords,
};

/// One resource record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The character-strings of one TXT record, kept apart.
    Txt(Vec<Vec<u8>>),
    /// Preference and exchange.
    Mx(u16, String),
    /// A host name.
    Ptr(String),
    /// The canonical name this owner is an alias of.
    Cname(String),
    /// A type read but not served (its name, e.g. `NS`).
    Other(String),
}

/// A record with its TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecord {
    /// Time to live in seconds.
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

/// An error in a zone file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    /// The file, when read from one.
    pub file: Option<String>,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}:{}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for ZoneError {}

/// The records of one or more zone files, by owner name (lower case, no trailing dot).
#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// By owner name. The names are the zone's own (from its files or [`Zone::add`]); a
    /// query only probes, so a fast seeded hash is enough (SipHash cost more than the rest
    /// of a lookup).
    owners: HashMap<String, Owner, foldhash::fast::RandomState>,
}

/// The records of one owner name.
#[derive(Debug, Clone, Default)]
struct Owner {
    records: Vec<ZoneRecord>,
    /// The owner name passes [`check_name`].
    queryable: bool,
    /// Its TXT records joined, as [`Lookup::txt`] hands them out: the same records
    /// on every query, so what a protocol parses from one is kept with the zone.
    txt: Option<TxtRecords>,
}

/// Most CNAMEs followed in one lookup before giving up.
pub const MAX_CNAME_CHAIN: usize = 8;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(Vec<u8>),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => String::from_utf8_lossy(q).into_owned(),
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            Token::Word(w) => unescape(w.as_bytes()),
            Token::Quoted(q) => q.clone(),
        }
    }
}

fn unescape(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'\\' && i + 1 < input.len() {
            let digits = &input[i + 1..(i + 4).min(input.len())];
            if digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            out.push(input[i + 1]);
            i += 2;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// One logical entry: its tokens, whether it began with white space, and its first line.
struct Entry {
    tokens: Vec<Token>,
    indented: bool,
    line: usize,
}

fn tokenize(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut entries = Vec::new();
    let mut current = Entry {
        tokens: Vec::new(),
        indented: false,
        line: 1,
    };
    let mut depth = 0usize;
    let mut line = 1;
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start && depth == 0 {
            current.indented = matches!(b, b' ' | b'\t');
            current.line = line;
            at_line_start = false;
        }
        match b {
            b'\n' => {
                line += 1;
                i += 1;
                if depth == 0 {
                    if !current.tokens.is_empty() {
                        entries.push(std::mem::replace(
                            &mut current,
                            Entry {
                                tokens: Vec::new(),
                                indented: false,
                                line,
                            },
                        ));
                    }
                    at_line_start = true;
                }
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or((line, "')' without '('".to_string()))?;
                i += 1;
            }
            b'"' => {
                let start_line = line;
                let mut value = Vec::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err((start_line, "unterminated quoted string".into())),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') if i + 1 < bytes.len() => {
                            value.push(b'\\');
                            value.push(bytes[i + 1]);
                            i += 2;
                        }
                        Some(&c) => {
                            if c == b'\n' {
                                line += 1;
                            }
                            value.push(c);
                            i += 1;
                        }
                    }
                }
                current.tokens.push(Token::Quoted(unescape(&value)));
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"'
                    )
                {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = i.min(bytes.len());
                current.tokens.push(Token::Word(
                    String::from_utf8_lossy(&bytes[start..end]).into_owned(),
                ));
            }
        }
    }
    if depth > 0 {
        return Err((line, "'(' without ')'".into()));
    }
    if !current.tokens.is_empty() {
        entries.push(current);
    }
    Ok(entries)
}

fn absolute(name: &str, origin: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name == "@" {
        return origin.to_string();
    }
    if let Some(stripped) = name.strip_suffix('.') {
        return stripped.to_string();
    }
    if origin.is_empty() {
        name
    } else {
        format!("{name}.{origin}")
    }
}

const CLASSES: [&str; 4] = ["IN", "CH", "HS", "CS"];

impl Zone {
    /// An empty zone.
    pub fn new() -> Zone {
        Zone::default()
    }

    /// Parses zone text. `origin` is the starting `$ORIGIN` (may be empty, in which case
    /// relative names stay as written).
    pub fn parse(text: &str, origin: &str) -> Result<Zone, ZoneError> {
        let mut zone = Zone::new();
        zone.add_text(text, origin, None)?;
        Ok(zone)
    }

    /// Reads a zone file; its starting origin is empty.
    pub fn from_file(path: &Path) -> Result<Zone, ZoneError> {
        let mut zone = Zone::new();
        zone.add_file(path)?;
        Ok(zone)
    }

    /// Adds the records of another file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), ZoneError> {
        let file = Some(path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|e| ZoneError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        self.add_text(&text, "", file)
    }

    fn add_text(
        &mut self,
        text: &str,
        origin: &str,
        file: Option<String>,
    ) -> Result<(), ZoneError> {
        let err = |line: usize, message: String| ZoneError {
            file: file.clone(),
            line,
            message,
        };
        let entries = tokenize(text).map_err(|(line, m)| err(line, m))?;
        let mut origin = origin.trim_end_matches('.').to_ascii_lowercase();
        let mut default_ttl: u32 = 3600;
        let mut last_owner: Option<String> = None;
        for entry in entries {
            let mut tokens = entry.tokens.iter().peekable();
            let first = tokens.peek().map(|t| t.text()).unwrap_or_default();
            if first.starts_with('$') {
                tokens.next();
                let arg = tokens
                    .next()
                    .map(Token::text)
                    .ok_or_else(|| err(entry.line, format!("{first} needs a value")))?;
                match first.to_ascii_uppercase().as_str() {
                    "$ORIGIN" => origin = absolute(&arg, &origin),
                    "$TTL" => {
                        default_ttl = arg
                            .parse()
                            .map_err(|_| err(entry.line, format!("bad $TTL {arg:?}")))?
                    }
                    other => return Err(err(entry.line, format!("{other} is not supported"))),
                }
                continue;
            }
            let owner = if entry.indented {
                last_owner
                    .clone()
                    .ok_or_else(|| err(entry.line, "record without an owner name".into()))?
            } else {
                let name = tokens.next().map(Token::text).unwrap_or_default();
                absolute(&name, &origin)
            };
            last_owner = Some(owner.clone());
            let mut ttl = default_ttl;
            let mut rtype = None;
            for token in tokens.by_ref() {
                let word = token.text();
                if let Ok(n) = word.parse::<u32>() {
                    ttl = n;
                } else if CLASSES.contains(&word.to_ascii_uppercase().as_str()) {
                    continue;
                } else {
                    rtype = Some(word.to_ascii_uppercase());
                    break;
                }
            }
            let rtype =
                rtype.ok_or_else(|| err(entry.line, format!("no record type for {owner}")))?;
            let rest: Vec<&Token> = tokens.collect();
            let need = |n: usize| -> Result<(), ZoneError> {
                if rest.len() < n {
                    Err(err(
                        entry.line,
                        format!("{rtype} record for {owner} is incomplete"),
                    ))
                } else {
                    Ok(())
                }
            };
            let data = match rtype.as_str() {
                "A" => {
                    need(1)?;
                    RecordData::A(rest[0].text().parse().map_err(|_| {
                        err(entry.line, format!("bad IPv4 address {:?}", rest[0].text()))
                    })?)
                }
                "AAAA" => {
                    need(1)?;
                    RecordData::Aaaa(rest[0].text().parse().map_err(|_| {
                        err(entry.line, format!("bad IPv6 address {:?}", rest[0].text()))
                    })?)
                }
                "TXT" => {
                    let strings: Vec<Vec<u8>> = rest.iter().map(|t| t.bytes()).collect();
                    if let Some(long) = strings.iter().find(|s| s.len() > 255) {
                        return Err(err(
                            entry.line,
                            format!("TXT string of {} octets is longer than 255", long.len()),
                        ));
                    }
                    RecordData::Txt(strings)
                }
                "MX" => {
                    need(2)?;
                    let preference = rest[0].text().parse().map_err(|_| {
                        err(
                            entry.line,
                            format!("bad MX preference {:?}", rest[0].text()),
                        )
                    })?;
                    RecordData::Mx(preference, absolute(&rest[1].text(), &origin))
                }
                "PTR" => {
                    need(1)?;
                    RecordData::Ptr(absolute(&rest[0].text(), &origin))
                }
                "CNAME" => {
                    need(1)?;
                    RecordData::Cname(absolute(&rest[0].text(), &origin))
                }
                other => RecordData::Other(other.to_string()),
            };
            self.add(&owner, ttl, data);
        }
        Ok(())
    }

    /// Adds one record.
    pub fn add(&mut self, owner: &str, ttl: u32, data: RecordData) {
        let owner = owner.trim_end_matches('.').to_ascii_lowercase();
        let queryable = check_name(&owner).is_ok();
        let owner = self.owners.entry(owner).or_default();
        owner.queryable = queryable;
        if let RecordData::Txt(strings) = &data {
            let joined = TxtRecord::new(strings.concat());
            let kept = owner.txt.as_deref().unwrap_or_default();
            owner.txt = Some(kept.iter().cloned().chain([joined]).collect());
        }
        owner.records.push(ZoneRecord { ttl, data });
    }

    /// The records of `name` exactly (no CNAME following).
    pub fn records(&self, name: &str) -> &[ZoneRecord] {
        self.records_of(&owner_key(name))
    }

    /// The records of an owner already in the zone's form ([`owner_key`]).
    fn records_of(&self, key: &str) -> &[ZoneRecord] {
        self.owners
            .get(key)
            .map_or(&[], |owner| owner.records.as_slice())
    }

    /// True when `name` owns records or has names below it (an empty non-terminal exists,
    /// RFC 8020).
    pub fn name_exists(&self, name: &str) -> bool {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let suffix = format!(".{key}");
        self.owners.contains_key(&key) || self.owners.keys().any(|k| k.ends_with(&suffix))
    }

    /// All owner names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.owners.keys().map(String::as_str)
    }

    /// Resolves `name` for records `select` picks, following CNAMEs: the chain of
    /// (owner, record) pairs walked, then the answer.
    pub fn resolve<T>(
        &self,
        name: &str,
        select: impl Fn(&RecordData) -> Option<T>,
    ) -> Result<Vec<T>, DnsError> {
        self.resolve_with_aliases(name, select)
            .map(|(found, _)| found)
    }

    /// Like [`resolve`](Self::resolve), also returning the CNAME targets followed.
    pub fn resolve_with_aliases<T>(
        &self,
        name: &str,
        select: impl Fn(&RecordData) -> Option<T>,
    ) -> Result<(Vec<T>, Vec<String>), DnsError> {
        self.resolve_owner(name, select)
            .map(|(_, found, aliases)| (found, aliases))
    }

    /// Follows CNAMEs from `name` to the owner holding records `select` picks: that owner,
    /// what was picked, and the CNAME targets followed.
    fn resolve_owner<T>(
        &self,
        name: &str,
        select: impl Fn(&RecordData) -> Option<T>,
    ) -> Result<(&Owner, Vec<T>, Vec<String>), DnsError> {
        let mut current = owner_key(name);
        // A name that is an owner (at most one trailing dot stripped) was checked when the
        // owner was added; only other names are checked here, on every query.
        let trailing_dots = name.len() - current.len();
        let mut at = self.owners.get(current.as_ref());
        if !at.is_some_and(|owner| owner.queryable && trailing_dots <= 1) {
            check_name(name)?;
        }
        let mut aliases = Vec::new();
        for _ in 0..=MAX_CNAME_CHAIN {
            let Some(owner) = at else {
                return Err(if self.name_exists(&current) {
                    DnsError::NoRecords
                } else {
                    DnsError::NxDomain
                });
            };
            let found: Vec<T> = owner
                .records
                .iter()
                .filter_map(|r| select(&r.data))
                .collect();
            if !found.is_empty() {
                return Ok((owner, found, aliases));
            }
            match owner.records.iter().find_map(|r| match &r.data {
                RecordData::Cname(target) => Some(target.clone()),
                _ => None,
            }) {
                Some(target) => {
                    aliases.push(target.clone());
                    current = Cow::Owned(owner_key(&target).into_owned());
                    at = self.owners.get(current.as_ref());
                }
                None => return Err(DnsError::NoRecords),
            }
        }
        Err(DnsError::ServerFailure(format!(
            "more than {MAX_CNAME_CHAIN} CNAMEs from {name}"
        )))
    }
}

impl Zone {
    /// The owner's shared TXT records at the end of the CNAME chain from `name`, and the
    /// chain.
    fn shared_txt(&self, name: &str) -> Result<TxtAnswer, DnsError> {
        // Picking `()` per TXT record allocates nothing; the owner's shared records are
        // the answer.
        let is_txt = |d: &RecordData| matches!(d, RecordData::Txt(_)).then_some(());
        self.resolve_owner(name, is_txt)
            .map(|(owner, _, aliases)| TxtAnswer {
                records: owner.txt.clone().unwrap_or_default(),
                aliases,
            })
    }
}

/// `name` as the zone keys owners: without the trailing dot, in lower case (copied only
/// when it has capitals).
fn owner_key(name: &str) -> Cow<'_, str> {
    let mut end = name.len();
    while end > 0 && name.as_bytes()[end - 1] == b'.' {
        end -= 1;
    }
    let name = &name[..end];
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

impl Lookup for Zone {
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a, TxtAnswer> {
        LookupFuture::ready(self.shared_txt(name))
    }
    fn a<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv4Addr>> {
        LookupFuture::ready(self.resolve(name, |d| match d {
            RecordData::A(ip) => Some(*ip),
            _ => None,
        }))
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Ipv6Addr>> {
        LookupFuture::ready(self.resolve(name, |d| match d {
            RecordData::Aaaa(ip) => Some(*ip),
            _ => None,
        }))
    }
    fn mx<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Vec<Mx>> {
        LookupFuture::ready(self.resolve(name, |d| match d {
            RecordData::Mx(preference, exchange) => Some(Mx {
                preference: *preference,
                exchange: exchange.clone(),
            }),
            _ => None,
        }))
    }
    fn ptr<'a>(&'a self, ip: IpAddr) -> LookupFuture<'a, Vec<String>> {
        LookupFuture::ready(self.resolve(&reverse_name(ip), |d| match d {
            RecordData::Ptr(host) => Some(host.clone()),
            _ => None,
        }))
    }
    fn cname<'a>(&'a self, name: &'a str) -> LookupFuture<'a, Option<String>> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        LookupFuture::ready(Ok(self.records(&key).iter().find_map(|r| match &r.data {
            RecordData::Cname(target) => Some(target.trim_end_matches('.').to_string()),
            _ => None,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENDKIM: &str = r#"default._domainkey	IN	TXT	( "v=DKIM1; h=sha256; k=rsa; "
	  "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAt"
	  "2dq\"uoted\\slash\065" )  ; ----- DKIM key default for example.com
"#;

    #[test]
    fn opendkim_genkey_layout() {
        let zone = Zone::parse(OPENDKIM, "example.com").unwrap();
        let records = zone.records("default._domainkey.example.com");
        assert_eq!(records.len(), 1);
        let RecordData::Txt(strings) = &records[0].data else {
            panic!("not TXT")
        };
        assert_eq!(strings.len(), 3);
        assert_eq!(strings[0], b"v=DKIM1; h=sha256; k=rsa; ");
        assert_eq!(strings[2], b"2dq\"uoted\\slashA");
    }

    #[tokio::test]
    async fn txt_records_are_the_same_records_on_every_query() {
        let text = "$ORIGIN example.com.\n_spf TXT \"v=spf1 \" \"-all\"\n_spf TXT \"other\"\nalias CNAME _spf\nhost A 192.0.2.1\n";
        let zone = Zone::parse(text, "").unwrap();
        let first = zone.txt("_spf.example.com").await.unwrap();
        let texts: Vec<&[u8]> = first.records.iter().map(TxtRecord::text).collect();
        assert_eq!(
            texts,
            [&b"v=spf1 -all"[..], b"other"],
            "strings joined, in order"
        );
        // Through a CNAME and in capitals: the same records, and what was parsed from them.
        let kept = first.records[0].spf_policy().unwrap();
        let again = zone.txt("ALIAS.example.com.").await.unwrap();
        assert_eq!(again.aliases, ["_spf.example.com"]);
        assert!(again.records[0].is_parsed());
        let found = again.records[0].spf_policy().unwrap();
        assert!(std::sync::Arc::ptr_eq(&kept, &found));
        // A name is checked even when it leads to an owner.
        let long = format!("{}.example.com", "a".repeat(64));
        let mut zone = zone;
        zone.add(
            &long,
            60,
            RecordData::Txt(vec![b"too long to ask for".to_vec()]),
        );
        for (name, expected) in [
            ("host.example.com", Some(DnsError::NoRecords)),
            ("nowhere.example.com", Some(DnsError::NxDomain)),
            ("a..b", None),
            ("_spf.example.com..", None),
            (&long, None),
        ] {
            match (zone.txt(name).await, expected) {
                (Err(error), Some(expected)) => assert_eq!(error, expected, "{name}"),
                (Err(DnsError::InvalidName(_)), None) => {}
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn cname_loops_stop() {
        let zone = Zone::parse("a CNAME b\nb CNAME a\n", "x.test").unwrap();
        assert!(matches!(
            zone.resolve("a.x.test", |d| match d {
                RecordData::Txt(_) => Some(()),
                _ => None,
            }),
            Err(DnsError::ServerFailure(_))
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let e = Zone::parse("a A 192.0.2.1\nb A not-an-ip\n", "t").unwrap_err();
        assert_eq!(e.line, 2);
        let e = Zone::parse("a TXT ( \"x\"\n", "t").unwrap_err();
        assert!(e.message.contains("'('"), "{e}");
        let e = Zone::parse("a TXT \"unterminated\n", "t").unwrap_err();
        assert!(e.message.contains("unterminated"));
        let long = format!("a TXT \"{}\"\n", "x".repeat(256));
        assert!(Zone::parse(&long, "t").unwrap_err().message.contains("255"));
    }
}
