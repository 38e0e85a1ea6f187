//! What other servers wrote about the message: Authentication-Results (RFC 8601),
//! ARC-Authentication-Results and the rest of the ARC sets (RFC 8617), and Received-SPF
//! (RFC 7208 §9.1). Parsed and explained, never believed: any sender can write them.

use serde::Serialize;

use super::signatures::{explain_tags, TagExplained};
use super::{tr, Lang};
use hanko::authres::{AuthenticationResults, MethodResult, ParseOptions};
use hanko::message::{Headers, TagList};

/// One property of a result: `smtp.mailfrom=joe@example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedProperty {
    /// `ptype.property` (`header.d`), or the bare name for untyped pairs (`client-ip`).
    pub name: String,
    /// The value.
    pub value: String,
}

/// One method's result as another server wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimedResult {
    /// `spf`, `dkim`, `dmarc`, `arc`, `compauth`, ...
    pub method: String,
    /// The result word.
    pub result: String,
    /// `reason=`, when written.
    pub reason: Option<String>,
    /// The comments, joined.
    pub comment: Option<String>,
    /// The properties.
    pub properties: Vec<ClaimedProperty>,
    /// What the result means.
    pub meaning: String,
}

impl ClaimedResult {
    /// The value of property `name` (`header.d`), ignoring case.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }
}

/// One Authentication-Results, ARC-Authentication-Results or Received-SPF field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The field name, as written.
    pub field: String,
    /// Position among all header fields, 1 for the topmost.
    pub position: usize,
    /// Who wrote it (`authserv-id`, or `receiver=` of Received-SPF).
    pub authserv_id: Option<String>,
    /// The ARC instance (`i=`) of an ARC-Authentication-Results field.
    pub instance: Option<u32>,
    /// The results.
    pub results: Vec<ClaimedResult>,
    /// Why the field could not be read.
    pub error: Option<String>,
    /// The value as written (unfolded).
    pub raw: String,
}

/// An ARC-Seal or ARC-Message-Signature field, tag by tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcField {
    /// The field name, as written.
    pub field: String,
    /// `i=`.
    pub instance: Option<u32>,
    /// The tags, explained.
    pub tags: Vec<TagExplained>,
    /// Why the field could not be read.
    pub error: Option<String>,
}

/// What `result` of `method` means.
pub(crate) fn result_meaning(method: &str, result: &str, lang: Lang) -> String {
    let m = method.to_ascii_lowercase();
    let r = result.to_ascii_lowercase();
    let s = |en: &str, ja: &str| lang.pick(en, ja).to_string();
    match (m.as_str(), r.as_str()) {
        ("dkim", "pass") => s("A DKIM signature verified.", "DKIM 署名を検証できました。"),
        ("dkim", "fail") => s("A DKIM signature did not verify: the message changed or the key does not match.", "DKIM 署名を検証できませんでした。メッセージが変更されたか、鍵が一致しません。"),
        ("dkim", "none") => s("The message was not signed.", "メッセージは署名されていません。"),
        ("dkim", "neutral") => s("A signature could not be used (unsupported algorithm or syntax).", "署名を使えませんでした (未対応のアルゴリズムや書式)。"),
        ("dkim", "policy") => s("A signature verified but was not accepted by local policy (for example SHA-1 or a short key).", "署名は検証できましたが、受信側のポリシーで受け入れられませんでした (SHA-1 や短い鍵など)。"),
        ("spf", "pass") => s("The sending IP address is allowed by the envelope sender's SPF policy.", "送信元 IP アドレスは、エンベロープ送信者の SPF ポリシーで許可されています。"),
        ("spf", "fail") => s("The SPF policy says this IP address may not send for the domain.", "SPF ポリシーは、この IP アドレスからの送信を許可していません。"),
        ("spf", "softfail") => s("The SPF policy says this IP address is probably not allowed (~all).", "SPF ポリシーでは、この IP アドレスはおそらく許可されていません (~all)。"),
        ("spf", "neutral") => s("The SPF policy makes no statement about this IP address (?all).", "SPF ポリシーはこの IP アドレスについて何も述べていません (?all)。"),
        ("spf", "none") => s("The domain publishes no SPF policy.", "ドメインは SPF ポリシーを公開していません。"),
        ("dmarc", "pass") => s("The From domain is authenticated: an aligned DKIM signature or aligned SPF passed.", "From のドメインが認証されました。アラインした DKIM 署名か SPF が pass しています。"),
        ("dmarc", "fail") => s("Neither an aligned DKIM signature nor aligned SPF passed for the From domain.", "From のドメインにアラインした DKIM 署名も SPF も pass していません。"),
        ("dmarc", "none") => s("The From domain publishes no DMARC policy.", "From のドメインは DMARC ポリシーを公開していません。"),
        ("dmarc", "bestguesspass") => s("No DMARC record, but it would have passed with a default policy (a receiver's guess).", "DMARC レコードはありませんが、既定のポリシーなら pass していた、という受信側の推測です。"),
        ("arc", "pass") => s("The ARC chain verified: earlier servers' results were carried intact.", "ARC チェーンを検証できました。前段のサーバーの結果が改ざんされずに届いています。"),
        ("arc", "fail") => s("The ARC chain is broken.", "ARC チェーンが壊れています。"),
        ("arc", "none") => s("No ARC sets.", "ARC セットはありません。"),
        ("compauth", _) => compauth_meaning(&r, lang),
        (_, "temperror") => s("A temporary error (usually DNS) prevented the check; a later retry may succeed.", "一時的なエラー (多くは DNS) で確認できませんでした。再試行で成功することがあります。"),
        (_, "permerror") => s("A permanent error: a published record is broken.", "恒久的なエラーです。公開されているレコードが壊れています。"),
        (_, "pass") => s("Passed.", "pass です。"),
        (_, "fail") => s("Failed.", "fail です。"),
        (_, "none") => s("Not checked or nothing to check.", "確認していないか、確認対象がありません。"),
        _ => s("A result hanko does not explain.", "hanko が説明できない結果です。"),
    }
}

/// Microsoft's composite authentication (`compauth=`, Exchange Online Protection).
fn compauth_meaning(result: &str, lang: Lang) -> String {
    let s = |en: &str, ja: &str| lang.pick(en, ja).to_string();
    match result {
        "pass" => s("Microsoft's composite authentication passed (SPF, DKIM, DMARC, ARC and sender reputation together).", "Microsoft の複合認証 (SPF・DKIM・DMARC・ARC と送信者の評価を合わせた判定) が pass しました。"),
        "fail" => s("Microsoft's composite authentication failed: treated as spoofing.", "Microsoft の複合認証が fail しました。なりすましとして扱われます。"),
        "softpass" => s("Microsoft's composite authentication soft-passed (implicit authentication).", "Microsoft の複合認証が softpass (暗黙の認証) でした。"),
        _ => s("Microsoft's composite authentication was not applied.", "Microsoft の複合認証は適用されませんでした。"),
    }
}

/// What Microsoft's `compauth` reason code means.
fn compauth_reason(code: &str, lang: Lang) -> Option<String> {
    let s = |en: &str, ja: &str| Some(lang.pick(en, ja).to_string());
    match code {
        "000" => s(
            "000: explicit failure (DMARC fail with p=quarantine or p=reject).",
            "000: 明示的な失敗 (DMARC が fail で p=quarantine または p=reject)。",
        ),
        "001" => s(
            "001: implicit failure (no or weak authentication records).",
            "001: 暗黙の失敗 (認証レコードがないか弱い)。",
        ),
        "002" => s(
            "002: the organization forbids this sender/domain pair to spoof.",
            "002: この送信者とドメインの組み合わせのなりすましは組織で禁止されています。",
        ),
        "010" => s(
            "010: DMARC fail with reject/quarantine for one of the organization's own domains.",
            "010: 組織自身のドメインで DMARC が fail (reject/quarantine)。",
        ),
        c if c.starts_with('1') || c.starts_with('7') => s("1xx/7xx: passed.", "1xx/7xx: pass。"),
        c if c.starts_with('2') => s("2xx: soft pass.", "2xx: softpass。"),
        c if c.starts_with('3') => s("3xx: not checked.", "3xx: 確認されていません。"),
        c if c.starts_with('4') || c.starts_with('9') => s(
            "4xx/9xx: bypassed (an allow rule).",
            "4xx/9xx: 許可ルールにより省略されました。",
        ),
        c if c.starts_with('6') => s(
            "6xx: implicit failure for one of the organization's own domains.",
            "6xx: 組織自身のドメインでの暗黙の失敗。",
        ),
        _ => None,
    }
}

fn claimed(result: &MethodResult, lang: Lang) -> ClaimedResult {
    let mut meaning = result_meaning(&result.method, &result.result, lang);
    if result.method.eq_ignore_ascii_case("compauth") {
        if let Some(code) = result
            .reason
            .as_deref()
            .and_then(|r| compauth_reason(r.trim(), lang))
        {
            meaning = format!("{meaning} {code}");
        }
    }
    ClaimedResult {
        method: result.method.clone(),
        result: result.result.clone(),
        reason: result.reason.clone(),
        comment: (!result.comments.is_empty()).then(|| result.comments.join("; ")),
        properties: result
            .properties
            .iter()
            .map(|p| ClaimedProperty {
                name: if p.ptype.is_empty() {
                    p.name.clone()
                } else {
                    format!("{}.{}", p.ptype, p.name)
                },
                value: p.value.clone(),
            })
            .collect(),
        meaning,
    }
}

/// Reads `Received-SPF: result (comment) key=value; ...` (RFC 7208 §9.1).
fn received_spf(value: &str, lang: Lang) -> (Option<String>, ClaimedResult) {
    let value = value.trim();
    let word_end = value
        .find(|c: char| c.is_whitespace() || c == '(')
        .unwrap_or(value.len());
    let result = value[..word_end].to_ascii_lowercase();
    let mut rest = value[word_end..].trim_start();
    let mut comment = None;
    if rest.starts_with('(') {
        let mut depth = 0usize;
        let mut close = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        comment = Some(rest[1..close].trim().to_string());
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    let mut properties = Vec::new();
    for pair in rest.split(';') {
        if let Some((name, v)) = pair.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            properties.push(ClaimedProperty {
                name: name.trim().to_ascii_lowercase(),
                value: v,
            });
        }
    }
    let receiver = properties
        .iter()
        .find(|p| p.name == "receiver")
        .map(|p| p.value.clone())
        .or_else(|| {
            comment
                .as_deref()
                .and_then(|c| c.split_once(':'))
                .map(|(r, _)| r.trim().to_string())
                .filter(|r| !r.contains(' '))
        });
    (
        receiver,
        ClaimedResult {
            method: "spf".into(),
            meaning: result_meaning("spf", &result, lang),
            result,
            reason: None,
            comment,
            properties,
        },
    )
}

/// Every claim field and ARC field of `headers`, top first.
pub(crate) fn claims(headers: &Headers, lang: Lang) -> (Vec<Claim>, Vec<ArcField>) {
    let mut claims = Vec::new();
    let mut arc = Vec::new();
    for (i, field) in headers.fields().iter().enumerate() {
        let position = i + 1;
        let raw = field.unfolded_value();
        if field.is("Authentication-Results") || field.is("ARC-Authentication-Results") {
            let mut text = raw.as_str();
            let mut instance = None;
            if field.is("ARC-Authentication-Results") {
                // `i=N;` comes first (RFC 8617 §4.1.1).
                if let Some((first, rest)) = text.split_once(';') {
                    if let Some(n) = first.trim().strip_prefix("i=") {
                        instance = n.trim().parse().ok();
                        text = rest;
                    }
                }
            }
            let parsed = AuthenticationResults::parse(text, ParseOptions::lenient());
            let (authserv_id, results, error) = match parsed {
                Ok(ar) => (
                    (!ar.authserv_id.is_empty()).then_some(ar.authserv_id),
                    ar.results.iter().map(|r| claimed(r, lang)).collect(),
                    None,
                ),
                Err(e) => (None, Vec::new(), Some(e.to_string())),
            };
            claims.push(Claim {
                field: field.name().to_string(),
                position,
                authserv_id,
                instance,
                results,
                error,
                raw,
            });
        } else if field.is("Received-SPF") {
            let (receiver, result) = received_spf(&raw, lang);
            let error = (!matches!(
                result.result.as_str(),
                "pass" | "fail" | "softfail" | "neutral" | "none" | "temperror" | "permerror"
            ))
            .then(|| {
                tr!(
                    lang,
                    "\"{}\" is not an SPF result",
                    "\"{}\" は SPF の結果ではありません",
                    result.result
                )
            });
            claims.push(Claim {
                field: field.name().to_string(),
                position,
                authserv_id: receiver,
                instance: None,
                results: vec![result],
                error,
                raw,
            });
        } else if field.is("ARC-Seal") || field.is("ARC-Message-Signature") {
            let (instance, tags, error) = match TagList::parse(field.value()) {
                Ok(tags) => (
                    tags.get("i").and_then(|i| i.trim().parse().ok()),
                    explain_tags(&tags, 0, lang),
                    None,
                ),
                Err(e) => (None, Vec::new(), Some(e.to_string())),
            };
            arc.push(ArcField {
                field: field.name().to_string(),
                instance,
                tags,
                error,
            });
        }
    }
    (claims, arc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanko::message::MessageLimits;

    #[test]
    fn received_spf_gmail_and_microsoft() {
        let (receiver, r) = received_spf(
            "pass (google.com: domain of joe@example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1;",
            Lang::En,
        );
        assert_eq!(receiver.as_deref(), Some("google.com"));
        assert_eq!(r.result, "pass");
        assert_eq!(r.property("client-ip"), Some("192.0.2.1"));
        let (receiver, r) = received_spf(
            "Pass (protection.outlook.com: domain of example.com designates 192.0.2.9 as permitted sender) receiver=protection.outlook.com; client-ip=192.0.2.9; helo=mail.example.com; pr=C",
            Lang::En,
        );
        assert_eq!(receiver.as_deref(), Some("protection.outlook.com"));
        assert_eq!(r.property("helo"), Some("mail.example.com"));
        let (_, r) = received_spf("softfail", Lang::En);
        assert_eq!((r.result.as_str(), r.comment), ("softfail", None));
    }

    #[test]
    fn authentication_results_and_arc() {
        let headers = Headers::parse(
            b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; s=arc; b=abc\r\n\
              ARC-Authentication-Results: i=1; mx.example.net; spf=pass smtp.mailfrom=example.com\r\n\
              Authentication-Results: spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com; compauth=fail reason=001\r\n\
              Authentication-Results: mx.example.net; dkim=pass header.d=example.com header.b=abcdefgh\r\n",
            &MessageLimits::default(),
        )
        .unwrap();
        let (claims, arc) = claims(&headers, Lang::En);
        assert_eq!(claims.len(), 3);
        assert_eq!(claims[0].instance, Some(1));
        assert_eq!(claims[0].authserv_id.as_deref(), Some("mx.example.net"));
        assert_eq!(claims[1].authserv_id, None);
        assert!(claims[1].results[1].meaning.contains("001: implicit"));
        assert_eq!(
            claims[2].results[0].property("header.d"),
            Some("example.com")
        );
        assert_eq!(arc[0].instance, Some(1));
        assert!(arc[0]
            .tags
            .iter()
            .any(|t| t.tag == "cv" && t.meaning.contains("first ARC")));
    }
}
