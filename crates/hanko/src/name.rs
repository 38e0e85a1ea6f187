//! Domain names and DKIM selectors as parsed values.

use std::fmt;

/// A domain name as it appears in a protocol field (DKIM `d=`, an SPF or DMARC domain).
///
/// Parsing checks the shape a DNS query needs: 1 to 253 octets, labels of 1 to 63 octets
/// made of letters, digits, `-` and `_` (or non-ASCII, for U-labels). Letter case is kept as written; compare with
/// [`DomainName::eq_ignore_case`]. A trailing dot is removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct DomainName(String);

/// Why a name did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

fn check_labels(name: &str, what: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError(format!("empty {what}")));
    }
    if name.len() > 253 {
        return Err(NameError(format!("{what} longer than 253 octets")));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError(format!("{what} {name:?} has an empty label")));
        }
        if label.len() > 63 {
            return Err(NameError(format!(
                "{what} has a label longer than 63 octets"
            )));
        }
        // Letters, digits, hyphen (RFC 1035 §2.3.1), underscore (service labels such as
        // `_domainkey`, RFC 8552), and non-ASCII for U-labels (RFC 8616).
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()))
        {
            return Err(NameError(format!("{what} {name:?} contains {c:?}")));
        }
    }
    Ok(())
}

impl DomainName {
    /// Parses a domain name.
    pub fn parse(text: &str) -> Result<DomainName, NameError> {
        let name = text.strip_suffix('.').unwrap_or(text);
        check_labels(name, "domain")?;
        Ok(DomainName(name.to_string()))
    }

    /// Parses a domain name into the form names are compared and queried in:
    /// [`comparable`](Self::comparable).
    pub fn parse_comparable(text: &str) -> Result<DomainName, NameError> {
        DomainName::parse(text)?.comparable()
    }

    /// The name in the form names are compared and queried in: A-labels (RFC 5890, as
    /// RFC 8616 asks of DKIM, SPF and DMARC), lower case, no trailing dot. A U-label that is
    /// not valid IDNA, or an `xn--` label that decodes to nothing valid, is an error.
    pub fn comparable(&self) -> Result<DomainName, NameError> {
        let ascii = idna::domain_to_ascii(&self.0)
            .map_err(|_| NameError(format!("domain {:?} is not a valid IDN", self.0)))?;
        // The A-label form can outgrow the octet limits the U-labels met.
        check_labels(&ascii, "domain")?;
        Ok(DomainName(ascii))
    }

    /// The name as written, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Equality ignoring ASCII letter case (DNS names compare that way, RFC 4343).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0
            .eq_ignore_ascii_case(other.strip_suffix('.').unwrap_or(other))
    }

    /// True when `self` is `other` or a subdomain of it, ignoring case.
    pub fn is_within(&self, other: &DomainName) -> bool {
        let me = self.0.to_ascii_lowercase();
        let parent = other.0.to_ascii_lowercase();
        me == parent || me.ends_with(&format!(".{parent}"))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DKIM selector (`s=`, RFC 6376 §3.1): one or more dot-separated labels, queried as
/// `selector._domainkey.domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Selector(String);

impl Selector {
    /// Parses a selector.
    pub fn parse(text: &str) -> Result<Selector, NameError> {
        check_labels(text, "selector")?;
        Ok(Selector(text.to_string()))
    }

    /// The selector as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        let d = DomainName::parse("Mail.Example.COM.").unwrap();
        assert_eq!(d.as_str(), "Mail.Example.COM");
        assert!(d.eq_ignore_case("mail.example.com"));
        assert!(d.is_within(&DomainName::parse("example.com").unwrap()));
        assert!(!DomainName::parse("notexample.com")
            .unwrap()
            .is_within(&DomainName::parse("example.com").unwrap()));
        assert!(DomainName::parse("a..b").is_err());
        assert!(DomainName::parse("exa mple.com").is_err());
        // dkimpy's test.message.baddomain: a "(" smuggles another name into the query.
        assert!(DomainName::parse("legitimate.com(.attacker.com").is_err());
        assert!(DomainName::parse("bücher.example").is_ok());
        let comparable = |t: &str| DomainName::parse_comparable(t).map(|d| d.to_string());
        assert_eq!(comparable("Mail.Example.COM.").unwrap(), "mail.example.com");
        assert_eq!(
            comparable("Bücher.Example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            comparable("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(comparable("xn--zz.example").is_err());
        assert!(comparable(&format!("{}.example", "ü".repeat(40))).is_err());
        assert!(comparable("[192.0.2.1]").is_err());
        assert!(Selector::parse("selector1-contoso-com").is_ok());
        assert!(Selector::parse("").is_err());
    }
}
