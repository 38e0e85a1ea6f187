//! The Authentication-Results reader: RFC 8601 §2.2 in strict mode, plus the variants real
//! writers produce in lenient mode (see [`super::ParseOptions::lenient`]).

use super::{
    registered_results, AuthenticationResults, MethodResult, ParseError, ParseOptions,
    ParseProblem, Property,
};

/// Comments nested deeper than this are refused: no real field needs them and the depth is
/// the only unbounded quantity in the grammar.
const MAX_COMMENT_DEPTH: usize = 64;

pub(super) fn parse(
    text: &str,
    options: ParseOptions,
) -> Result<AuthenticationResults, ParseError> {
    let (offset, value) = strip_name(text);
    let mut p = Parser {
        chars: value.chars().collect(),
        pos: 0,
        offset,
        options,
    };
    if !options.lenient && !options.internationalized {
        if let Some(at) = p.chars.iter().position(|c| !c.is_ascii()) {
            p.pos = at;
            return Err(p.error(ParseProblem::NonAscii));
        }
    }
    p.payload()
}

/// Splits off a leading `Authentication-Results:` name; returns the value and its offset in
/// characters.
fn strip_name(text: &str) -> (usize, &str) {
    const NAME: &str = "authentication-results";
    if text.len() >= NAME.len()
        && text.is_char_boundary(NAME.len())
        && text[..NAME.len()].eq_ignore_ascii_case(NAME)
    {
        let rest = &text[NAME.len()..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if let Some(value) = trimmed.strip_prefix(':') {
            return (text.len() - value.len(), value);
        }
    }
    (0, text)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Characters stripped before `chars` (the field name), for error positions.
    offset: usize,
    options: ParseOptions,
}

/// RFC 2045 `tspecials`, which a `token` may not contain.
const TSPECIALS: &str = "()<>@,;:\\\"/[]?=";

pub(super) fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !TSPECIALS.contains(c)
}

/// RFC 5321 `Let-dig` / `Ldh-str` characters: the `Keyword` of RFC 8601.
fn is_keyword_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// What a lenient parse takes as part of a name or bare value.
fn is_loose_char(c: char, dots: bool) -> bool {
    !(c.is_whitespace() || c.is_control() || ";=()\"/".contains(c) || (!dots && c == '.'))
}

/// RFC 5322 `atext`, and any non-ASCII character (RFC 6532).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn is_dot_atom(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(is_atext))
}

/// RFC 8601 `pvalue` without quotes: a `token`, or `[ [ local-part ] "@" ] domain-name`.
pub(super) fn is_unquoted_pvalue(text: &str, internationalized: bool) -> bool {
    let token = !text.is_empty()
        && text
            .chars()
            .all(|c| is_token_char(c) || (internationalized && !c.is_ascii() && !c.is_control()));
    if token {
        return true;
    }
    match text.rsplit_once('@') {
        Some((local, domain)) => (local.is_empty() || is_dot_atom(local)) && is_domain(domain),
        None => false,
    }
}

/// A `domain-name` ([`DomainName`](crate::name::DomainName)'s rules: labels of letters,
/// digits, `-`, `_` and U-label characters (RFC 8616), within DNS's lengths), written without
/// a trailing dot.
fn is_domain(text: &str) -> bool {
    !text.ends_with('.') && crate::name::DomainName::parse(text).is_ok()
}

impl Parser {
    fn error(&self, problem: ParseProblem) -> ParseError {
        ParseError {
            problem,
            position: self.offset + self.pos,
        }
    }

    fn unexpected(&self, expected: &'static str) -> ParseError {
        let found = match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "end of field".to_string(),
        };
        self.error(ParseProblem::Unexpected { expected, found })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips white space, folding and comments; comment texts go to `comments`.
    fn cfws(&mut self, comments: &mut Vec<String>) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
                self.pos += 1;
            } else if c == '(' {
                comments.push(self.comment()?);
            } else {
                break;
            }
        }
        Ok(())
    }

    /// A comment at `(`, nested comments kept as text, quoted pairs unescaped.
    fn comment(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut depth = 1;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => match self.peek() {
                    Some(next) => {
                        self.pos += 1;
                        text.push(next);
                    }
                    None => break,
                },
                '(' => {
                    depth += 1;
                    if depth > MAX_COMMENT_DEPTH {
                        self.pos = start;
                        return Err(self.error(ParseProblem::UnbalancedComment));
                    }
                    text.push(c);
                }
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(text);
                    }
                    text.push(c);
                }
                '\r' | '\n' => {}
                c => text.push(c),
            }
        }
        self.pos = start;
        Err(self.error(ParseProblem::UnbalancedComment))
    }

    /// A quoted-string at `"`, unquoted.
    fn quoted_string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => return Ok(text),
                '\\' => match self.peek() {
                    Some(next) => {
                        self.pos += 1;
                        text.push(next);
                    }
                    None => break,
                },
                // Folding inside a quoted string: the CRLF goes, the white space stays.
                '\r' | '\n' => {}
                c => text.push(c),
            }
        }
        self.pos = start;
        Err(self.error(ParseProblem::UnterminatedQuotedString))
    }

    fn run(&mut self, accept: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A `Keyword` (strict) or a loose name or quoted string (lenient).
    fn name(&mut self, dots: bool, what: &'static str) -> Result<String, ParseError> {
        let name = if self.options.lenient && self.peek() == Some('"') {
            self.quoted_string()?
        } else if self.options.lenient {
            self.run(|c| is_loose_char(c, dots))
        } else {
            self.run(is_keyword_char)
        };
        if name.is_empty() {
            return Err(self.unexpected(what));
        }
        Ok(name)
    }

    fn payload(&mut self) -> Result<AuthenticationResults, ParseError> {
        let mut ignored = Vec::new();
        self.cfws(&mut ignored)?;
        if self.at_end() || self.peek() == Some(';') {
            return Err(self.error(ParseProblem::MissingAuthservId));
        }
        let mut field = AuthenticationResults::default();
        let start = self.pos;
        let id = self.authserv_id()?;
        self.cfws(&mut ignored)?;
        if matches!(self.peek(), Some('=' | '/')) {
            // Microsoft: the field starts with a result, there is no authserv-id.
            if !self.options.lenient {
                self.pos = start;
                return Err(self.error(ParseProblem::MissingAuthservId));
            }
            self.pos = start;
            self.results(&mut field, true)?;
            return Ok(field);
        }
        field.authserv_id = id;
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            let digits = self.run(|c| c.is_ascii_digit());
            if self
                .peek()
                .is_some_and(|c| is_token_char(c) || !c.is_ascii())
            {
                return Err(self.unexpected("an authres-version"));
            }
            field.version = digits.parse().ok();
            self.cfws(&mut ignored)?;
        }
        if self.options.lenient {
            self.header_extras()?;
        }
        if self.at_end() {
            if self.options.lenient {
                return Ok(field);
            }
            return Err(self.unexpected("';'"));
        }
        if self.peek() != Some(';') {
            return Err(self.unexpected("';'"));
        }
        self.results(&mut field, false)?;
        Ok(field)
    }

    fn authserv_id(&mut self) -> Result<String, ParseError> {
        if self.peek() == Some('"') {
            return self.quoted_string();
        }
        let id = if self.options.lenient {
            self.run(|c| is_loose_char(c, true))
        } else {
            self.run(is_token_char)
        };
        if id.is_empty() {
            return Err(self.unexpected("an authserv-id"));
        }
        Ok(id)
    }

    /// Lenient only: what some writers put between the authserv-id and the first `;` (Yahoo's
    /// `from=example.com`, a stray word), read and dropped.
    fn header_extras(&mut self) -> Result<(), ParseError> {
        let mut ignored = Vec::new();
        loop {
            self.cfws(&mut ignored)?;
            if self.at_end() || self.peek() == Some(';') {
                return Ok(());
            }
            self.name(true, "a name")?;
            self.cfws(&mut ignored)?;
            if self.eat('=') {
                self.loose_value()?;
            } else if !(self.at_end() || self.peek() == Some(';')) {
                return Err(self.unexpected("'=' or ';'"));
            }
        }
    }

    /// The results after the authserv-id; `self.pos` is at the first `;`, or at the first
    /// result when `no_separator` (a field without authserv-id).
    fn results(
        &mut self,
        field: &mut AuthenticationResults,
        no_separator: bool,
    ) -> Result<(), ParseError> {
        let mut first = true;
        loop {
            if !(first && no_separator) {
                if self.at_end() {
                    return Ok(());
                }
                if !self.eat(';') {
                    return Err(self.unexpected("';'"));
                }
            }
            let mut comments = Vec::new();
            self.cfws(&mut comments)?;
            if self.at_end() || self.peek() == Some(';') {
                // A trailing or doubled `;`.
                if !self.options.lenient {
                    return Err(self.unexpected("a result"));
                }
                first = false;
                continue;
            }
            // `; none`: no check was made (RFC 8601 §2.2 no-result).
            if first && !no_separator {
                let save = self.pos;
                let word = self.run(is_keyword_char);
                let mut after = Vec::new();
                self.cfws(&mut after)?;
                if word.eq_ignore_ascii_case("none") && self.at_end() {
                    return Ok(());
                }
                self.pos = save;
            }
            if let Some(result) = self.resinfo(comments, &field.authserv_id)? {
                field.results.push(result);
            }
            first = false;
        }
    }

    /// One `resinfo` after its `;` and leading comments; `None` for a lenient duplicate of
    /// the authserv-id (Outlook writes `outlook.com; spf=...; outlook.com; dkim=...`).
    fn resinfo(
        &mut self,
        mut comments: Vec<String>,
        authserv_id: &str,
    ) -> Result<Option<MethodResult>, ParseError> {
        let method = self.name(true, "a method")?;
        if !self.options.lenient && method.contains('.') {
            return Err(self.unexpected("a method"));
        }
        let mut result = MethodResult {
            method: method.to_ascii_lowercase(),
            ..MethodResult::default()
        };
        self.cfws(&mut comments)?;
        if self.eat('/') {
            self.cfws(&mut comments)?;
            let version = self.run(|c| c.is_ascii_digit());
            result.method_version = Some(
                version
                    .parse()
                    .map_err(|_| self.unexpected("a method-version"))?,
            );
            self.cfws(&mut comments)?;
        }
        if self.eat('=') {
            self.cfws(&mut comments)?;
            result.result = if self.options.lenient {
                self.loose_value()?
            } else {
                self.run(is_keyword_char)
            }
            .to_ascii_lowercase();
            if result.result.is_empty() && !self.options.lenient {
                return Err(self.unexpected("a result"));
            }
        } else if self.options.lenient && (self.at_end() || self.peek() == Some(';')) {
            if result.method.eq_ignore_ascii_case(authserv_id) {
                return Ok(None);
            }
        } else {
            return Err(self.unexpected("'='"));
        }
        if !self.options.lenient {
            if let Some(known) = registered_results(&result.method) {
                if !known.contains(&result.result.as_str()) {
                    return Err(self.error(ParseProblem::UnknownResult {
                        method: result.method,
                        result: result.result,
                    }));
                }
            }
        }
        loop {
            self.cfws(&mut comments)?;
            if self.at_end() || self.peek() == Some(';') {
                break;
            }
            self.propspec(&mut result, &mut comments)?;
        }
        result.comments = comments;
        Ok(Some(result))
    }

    /// One `propspec`, or the `reasonspec`.
    fn propspec(
        &mut self,
        result: &mut MethodResult,
        comments: &mut Vec<String>,
    ) -> Result<(), ParseError> {
        let first = self.name(false, "a property")?;
        self.cfws(comments)?;
        let (ptype, name) = if self.eat('.') {
            self.cfws(comments)?;
            let name = self.name(false, "a property name")?;
            self.cfws(comments)?;
            (first, name)
        } else if let Some((ptype, name)) = first.split_once('.') {
            // Lenient: a quoted "header.from".
            (ptype.to_string(), name.to_string())
        } else {
            (String::new(), first)
        };
        if !self.eat('=') {
            return Err(self.unexpected("'='"));
        }
        let is_reason = ptype.is_empty() && name.eq_ignore_ascii_case("reason");
        if !self.options.lenient {
            if ptype.is_empty() && !is_reason {
                return Err(self.unexpected("'.'"));
            }
            if is_reason && (result.reason.is_some() || !result.properties.is_empty()) {
                return Err(self.unexpected("a property"));
            }
        }
        self.cfws(comments)?;
        let value = if self.options.lenient {
            self.loose_value()?
        } else if is_reason {
            self.strict_value()?
        } else {
            self.strict_pvalue()?
        };
        if is_reason {
            result.reason = Some(value);
        } else {
            result.properties.push(Property {
                ptype: ptype.to_ascii_lowercase(),
                name: name.to_ascii_lowercase(),
                value,
            });
        }
        Ok(())
    }

    /// Lenient value: a quoted string, or everything up to white space, `;` or a comment;
    /// empty when nothing follows the `=`.
    fn loose_value(&mut self) -> Result<String, ParseError> {
        let mut ignored = Vec::new();
        self.cfws(&mut ignored)?;
        match self.peek() {
            Some('"') => self.quoted_string(),
            Some('=') => Err(self.unexpected("a value")),
            _ => Ok(self.run(|c| !(c.is_whitespace() || c.is_control() || ";()".contains(c)))),
        }
    }

    /// `value = token / quoted-string` (RFC 2045).
    fn strict_value(&mut self) -> Result<String, ParseError> {
        if self.peek() == Some('"') {
            return self.quoted_string();
        }
        let value = self.run(is_token_char);
        if value.is_empty() {
            return Err(self.unexpected("a value"));
        }
        Ok(value)
    }

    /// RFC 8601 `pvalue`: a `value` or `[ [ local-part ] "@" ] domain-name`.
    fn strict_pvalue(&mut self) -> Result<String, ParseError> {
        if self.peek() == Some('"') {
            let quoted = self.quoted_string()?;
            if self.peek() == Some('@') {
                // A quoted local-part.
                self.pos += 1;
                let domain = self.run(|c| !(c.is_whitespace() || ";()".contains(c)));
                if !is_domain(&domain) {
                    return Err(self.unexpected("a domain name"));
                }
                return Ok(format!("\"{quoted}\"@{domain}"));
            }
            return Ok(quoted);
        }
        let start = self.pos;
        let value = self.run(|c| !(c.is_whitespace() || c.is_control() || ";()\"".contains(c)));
        if !is_unquoted_pvalue(&value, self.options.internationalized) {
            self.pos = start;
            return Err(self.unexpected("a token, an address or a quoted string"));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(text: &str) -> Result<AuthenticationResults, ParseError> {
        parse(text, ParseOptions::strict())
    }

    #[test]
    fn the_comment_heavy_example_of_rfc_8601_b_7() {
        let field = strict(
            "foo.example.net (foobar) 1 (baz);\r\n    dkim (Because I like it) / 1 (One yay) = \
             (wait for it) fail\r\n      policy (A dot can go here) . (like that) expired\r\n      \
             (this surprised me) = (as I wasn't expecting it) 1362471462",
        )
        .unwrap();
        assert_eq!(field.authserv_id, "foo.example.net");
        assert_eq!(field.version, Some(1));
        let dkim = &field.results[0];
        assert_eq!(
            (dkim.method.as_str(), dkim.method_version),
            ("dkim", Some(1))
        );
        assert_eq!(dkim.result, "fail");
        assert_eq!(dkim.property("policy.expired"), Some("1362471462"));
        assert_eq!(dkim.comments.len(), 7);
    }

    #[test]
    fn errors_name_the_place() {
        let err = strict("example.com; dkim=pass header.d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected '=', found end of field at character 31"
        );
        let err = strict("Authentication-Results: example.com; dkim=bogus").unwrap_err();
        assert!(matches!(err.problem, ParseProblem::UnknownResult { .. }));
        let err = strict("example.com; dkim=pass (open").unwrap_err();
        assert_eq!(err.problem, ParseProblem::UnbalancedComment);
        assert_eq!(err.position, 23);
    }

    #[test]
    fn deep_comments_are_refused_not_recursed() {
        let text = format!("example.com; dkim=pass {}", "(".repeat(100_000));
        assert_eq!(
            strict(&text).unwrap_err().problem,
            ParseProblem::UnbalancedComment
        );
    }

    #[test]
    fn a_name_without_colon_is_a_value() {
        let field = strict("authentication-results.example; none").unwrap();
        assert_eq!(field.authserv_id, "authentication-results.example");
    }
}
