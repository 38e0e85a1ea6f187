//! DKIM-Signature fields explained tag by tag, what they leave unsigned, and, when one fails,
//! what most likely changed.
//!
//! The diagnosis does not guess from the failure alone: it rebuilds the message as it may
//! have been when it was signed (a list footer taken off, a Subject tag removed, an added
//! field dropped, the body decoded back from quoted-printable, the header unfolded) and
//! checks the signature against each candidate. Only a candidate that verifies is reported
//! as the cause; otherwise the report says what it could not tell.

use serde::Serialize;

use super::{tr, Lang};
use hanko::dkim::canonicalize::{header_hash_input, BodyCanonicalizer};
use hanko::dkim::{
    CanonicalizationAlgorithm, DkimFailure, DkimResult, DkimWarning, Hasher, KeyRecord, Signature,
};
use hanko::message::format_utc;
use hanko::message::{HeaderField, Headers, TagList};

/// One tag of a tag=value field, with what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagExplained {
    /// The tag name (`d`, `h`, ...).
    pub tag: String,
    /// The value as written, unfolded (line breaks removed, tabs shown as spaces); white
    /// space removed altogether for `b`/`bh`.
    pub value: String,
    /// What it means, in a sentence.
    pub meaning: String,
}

/// hanko's own verification of one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCheck {
    /// The RFC 8601 result word (`pass`, `fail`, `neutral`, `policy`, `temperror`,
    /// `permerror`).
    pub verdict: String,
    /// Why it did not pass.
    pub reason: Option<String>,
    /// Only the header section was given and the signature over it verified: the body was
    /// not checked.
    pub headers_verified_body_not_checked: bool,
    /// The key: type, size and where it was found.
    pub key: Option<String>,
    /// Things worth knowing that do not change the result.
    pub warnings: Vec<String>,
}

/// One DKIM-Signature field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// 1 for the topmost DKIM-Signature field.
    pub number: usize,
    /// `d=`: the signing domain.
    pub domain: Option<String>,
    /// `s=`: the selector.
    pub selector: Option<String>,
    /// `a=`: the algorithm.
    pub algorithm: Option<String>,
    /// Every tag, explained.
    pub tags: Vec<TagExplained>,
    /// `h=`: the signed field names as written.
    pub signed_fields: Vec<String>,
    /// Fields present in the message that the signature does not cover (trace and `X-`
    /// fields left out).
    pub unsigned_fields: Vec<String>,
    /// What an attacker could do with this signature (`l=`, unsigned Subject, ...).
    pub risks: Vec<String>,
    /// Why the field could not be read as a signature.
    pub parse_error: Option<String>,
    /// hanko's verification; `None` offline.
    pub check: Option<SignatureCheck>,
    /// For a failed signature: what changed and the likely cause.
    pub diagnosis: Vec<String>,
}

/// Trace and receiver-added fields: never signed, never worth a warning.
const TRACE_FIELDS: &[&str] = &[
    "received",
    "return-path",
    "delivered-to",
    "dkim-signature",
    "authentication-results",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "received-spf",
    "dkim-filter",
];

/// Fields a mailing list manager adds (RFC 2369, RFC 2919).
const LIST_FIELDS: &[&str] = &[
    "list-id",
    "list-unsubscribe",
    "list-post",
    "mailing-list",
    "x-mailman-version",
    "x-beenthere",
];

/// Most candidate rebuilds checked per signature (each is one signature verification).
const MAX_CANDIDATES: usize = 200;

/// What one rebuilt header section costs beside its octets: the signature verification, as
/// octets of hashing of about the same time (an RSA-8192 verification is a few milliseconds).
const VERIFY_COST: usize = 256 * 1024;

/// The work the diagnoses of one report may still do, in octets copied or hashed: shared by
/// every signature diagnosed, so that a large message with many broken signatures costs a
/// bounded time, not a number of attempts times its size.
#[derive(Debug)]
pub(crate) struct WorkBudget {
    left: usize,
    ran_out: bool,
}

impl WorkBudget {
    /// A budget of `octets`.
    pub(crate) fn new(octets: usize) -> WorkBudget {
        WorkBudget {
            left: octets,
            ran_out: false,
        }
    }

    /// Takes `octets` from the budget; false (and nothing taken) when that is more than is
    /// left.
    fn spend(&mut self, octets: usize) -> bool {
        match self.left.checked_sub(octets) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.ran_out = true;
                false
            }
        }
    }

    /// True once a step was refused.
    pub(crate) fn ran_out(&self) -> bool {
        self.ran_out
    }
}

/// Most body lines the footer search walks (one hash clone per line).
const MAX_FOOTER_LINES: usize = 200_000;

/// What the value of one DKIM-Signature (or ARC-Message-Signature / ARC-Seal) tag means.
pub(crate) fn explain_tag(tag: &str, value: &str, now: u64, lang: Lang) -> String {
    let date = |v: &str| v.trim().parse::<i64>().ok().map(format_utc);
    match tag {
        "v" => tr!(lang, "Version {} of the format.", "書式のバージョン {} です。", value),
        "a" => match value.to_ascii_lowercase().as_str() {
            "rsa-sha256" => lang.pick("RSA signature over a SHA-256 hash (RFC 6376).", "SHA-256 ハッシュに対する RSA 署名です (RFC 6376)。").into(),
            "ed25519-sha256" => lang.pick("Ed25519 signature over a SHA-256 hash (RFC 8463); some receivers, Gmail among them, do not check it yet.", "SHA-256 ハッシュに対する Ed25519 署名です (RFC 8463)。Gmail など、まだ検証しない受信側もあります。").into(),
            "rsa-sha1" => lang.pick("RSA with SHA-1: forbidden by RFC 8301, never counted as a pass.", "RSA と SHA-1 の組み合わせです。RFC 8301 で禁止され、pass にはなりません。").into(),
            _ => lang.pick("An algorithm hanko does not know: the signature is ignored (neutral).", "hanko の知らないアルゴリズムです。この署名は無視されます (neutral)。").into(),
        },
        "b" => tr!(lang, "The signature itself ({} base64 characters), made with the private key over the signed header fields.", "署名そのもの (base64 で {} 文字) です。署名対象のヘッダーを秘密鍵で署名したものです。", value.len()),
        "bh" => lang.pick("Hash of the canonicalized body. If the body changes, this no longer matches.", "正規化した本文のハッシュです。本文が変わると一致しなくなります。").into(),
        "c" => {
            let (h, b) = value.split_once('/').unwrap_or((value, "simple"));
            let part = |p: &str, header: bool| match (p.trim().to_ascii_lowercase().as_str(), header) {
                ("relaxed", true) => lang.pick("header fields relaxed (case of names, white space and re-folding do not matter)", "ヘッダーは relaxed (名前の大文字小文字・空白・折り返しの違いは無視)"),
                ("simple", true) => lang.pick("header fields simple (must arrive byte for byte; re-folding breaks it)", "ヘッダーは simple (1 バイトも変わってはいけない。折り返し直しでも失敗)"),
                ("relaxed", false) => lang.pick("body relaxed (white space at line ends and runs of spaces do not matter)", "本文は relaxed (行末の空白や連続する空白の違いは無視)"),
                ("simple", false) => lang.pick("body simple (must arrive byte for byte, except empty lines at the end)", "本文は simple (末尾の空行以外、1 バイトも変わってはいけない)"),
                _ => lang.pick("an unknown canonicalization", "未知の正規化方式"),
            };
            format!("{}; {}.", part(h, true), part(b, false))
        }
        "d" => lang.pick("The signing domain (SDID): the domain that takes responsibility. DMARC needs it to match the From domain.", "署名ドメイン (SDID) です。責任を持つドメインで、DMARC では From のドメインと一致 (アライン) している必要があります。").into(),
        "h" => {
            let n = value.split(':').filter(|s| !s.trim().is_empty()).count();
            tr!(lang, "{} header field(s) are signed, in this order; a name listed more often than it occurs (oversigning) blocks added copies.", "{} 個のヘッダーフィールドを署名しています。実際の数より多く並べた名前 (オーバーサイン) は、後から同名のフィールドを足すことを防ぎます。", n)
        }
        "i" => lang.pick("The agent or user the signature was made for (AUID); it must be in d= or a subdomain of it.", "署名の対象となる利用者またはエージェント (AUID) です。d= と同じドメインかそのサブドメインでなければなりません。").into(),
        "l" => tr!(lang, "Only the first {} octets of the body are signed: anyone may append content after them.", "本文の先頭 {} オクテットだけが署名されています。その後ろには誰でも内容を足せます。", value),
        "q" => lang.pick("The key is fetched from a DNS TXT record.", "鍵は DNS の TXT レコードから取得します。").into(),
        "s" => tr!(lang, "The selector: which of the domain's keys, published at {}._domainkey.<d=>.", "セレクタです。どの鍵を使うかを示し、{}._domainkey.<d=> で公開されます。", value),
        "t" => match date(value) {
            Some(d) => tr!(lang, "Signed at {}.", "署名日時は {} です。", d),
            None => lang.pick("Signing time (not a number).", "署名日時 (数値ではありません)。").into(),
        },
        "x" => match (date(value), value.trim().parse::<u64>().ok()) {
            (Some(d), Some(x)) if x < now => tr!(lang, "Expired at {}: the signature is no longer valid.", "{} に期限切れになっています。この署名はもう有効ではありません。", d),
            (Some(d), _) => tr!(lang, "Valid until {}.", "{} まで有効です。", d),
            _ => lang.pick("Expiry time (not a number).", "有効期限 (数値ではありません)。").into(),
        },
        "z" => lang.pick("Copies of the header fields as they were signed (for diagnosis only).", "署名時点のヘッダーフィールドの写しです (診断用)。").into(),
        "cv" => match value.trim().to_ascii_lowercase().as_str() {
            "none" => lang.pick("Chain validation: none (this is the first ARC set).", "チェーン検証: none (最初の ARC セットです)。").into(),
            "pass" => lang.pick("Chain validation: the ARC sets before this one verified for the server that added it.", "チェーン検証: pass。このセットを追加したサーバーでは、それ以前の ARC セットが検証できました。").into(),
            "fail" => lang.pick("Chain validation: fail. The chain is broken; nothing after it can be trusted.", "チェーン検証: fail。チェーンが壊れており、これ以降は信用できません。").into(),
            _ => lang.pick("Chain validation: an unknown value.", "チェーン検証: 未知の値です。").into(),
        },
        _ => lang.pick("A tag hanko does not know; ignored (RFC 6376 §3.2).", "hanko の知らないタグです。無視されます (RFC 6376 §3.2)。").into(),
    }
}

/// Every tag of `tags`, explained.
pub(crate) fn explain_tags(tags: &TagList, now: u64, lang: Lang) -> Vec<TagExplained> {
    tags.tags()
        .iter()
        .map(|t| {
            let value = if matches!(t.name.as_str(), "b" | "bh") {
                hanko::message::strip_ws(&t.value)
            } else {
                // Unfolding (RFC 5322 §2.2.3): the line breaks go, the white space stays.
                t.value
                    .chars()
                    .filter(|c| !matches!(c, '\r' | '\n'))
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect()
            };
            TagExplained {
                meaning: explain_tag(&t.name, &value, now, lang),
                tag: t.name.clone(),
                value,
            }
        })
        .collect()
}

/// A DKIM warning in `lang`.
pub(crate) fn warning_text(warning: &DkimWarning, lang: Lang) -> String {
    match (warning, lang) {
        (_, Lang::En) => warning.to_string(),
        (DkimWarning::TestingMode, Lang::Ja) => "鍵がテストモード (t=y) です".into(),
        (DkimWarning::UnsignedBodyContent { signed, total }, Lang::Ja) => {
            format!("l= は本文 {total} オクテットのうち {signed} だけを署名しています。残りは署名されていません")
        }
        (DkimWarning::WeakKey { bits }, Lang::Ja) => {
            format!("RSA 鍵が {bits} ビットです。2048 ビットを推奨します")
        }
        (DkimWarning::FutureTimestamp { timestamp }, Lang::Ja) => {
            format!("t={timestamp} が未来の時刻です。署名側の時計が進んでいます")
        }
        (DkimWarning::UnsignedHeader { name }, Lang::Ja) => {
            format!("{name} はメッセージにありますが署名されていません。誰でも追加・変更できます")
        }
        (DkimWarning::UnsignedHeaderAdded { name, present, signed }, Lang::Ja) => format!(
            "{name} が {present} 個ありますが署名は {signed} 個分だけです。署名されていない {name} が追加されています"
        ),
        // A warning newer than this catalogue: its English text rather than none.
        (_, Lang::Ja) => warning.to_string(),
    }
}

/// A DKIM failure in `lang`.
pub(crate) fn failure_text(failure: &DkimFailure, lang: Lang) -> String {
    let ja = match failure {
        DkimFailure::Expired { expiration } => format!("署名の有効期限切れ (x={expiration})"),
        DkimFailure::KeyUnavailable { name, .. } if failure.verdict().as_str() == "permerror" => {
            format!("{name} に鍵レコードがありません")
        }
        DkimFailure::KeyUnavailable { name, error } => {
            format!("{name} の鍵の取得に失敗しました: {error}")
        }
        DkimFailure::KeyRevoked => "鍵は失効しています (p= が空)".into(),
        DkimFailure::KeyTooShort { bits } => {
            format!("RSA 鍵が {bits} ビットで短すぎます (RFC 8301 は 1024 以上を要求)")
        }
        DkimFailure::BodyHashMismatch {
            headers_intact: true,
        } => "本文ハッシュ不一致 (本文が変更されています。署名対象のヘッダーは無傷)".into(),
        DkimFailure::BodyHashMismatch {
            headers_intact: false,
        } => "本文ハッシュ不一致 (署名対象のヘッダーも変更されています)".into(),
        DkimFailure::SignatureMismatch => {
            "署名不一致 (署名対象のヘッダーが変更されています。本文は無傷)".into()
        }
        DkimFailure::Sha1Signature => {
            "rsa-sha1 の署名は検証できましたが、RFC 8301 で禁止されています".into()
        }
        other => return other.to_string(),
    };
    match lang {
        Lang::En => failure.to_string(),
        Lang::Ja => ja,
    }
}

/// What the signature at `field` covers and leaves open, without DNS.
pub(crate) fn describe(
    headers: &Headers,
    number: usize,
    field: &HeaderField,
    now: u64,
    lang: Lang,
) -> SignatureReport {
    let tags = TagList::parse(field.value()).ok();
    let get = |name: &str| tags.as_ref().and_then(|t| t.get(name)).map(str::to_string);
    let parsed = Signature::parse(field.value());
    let mut report = SignatureReport {
        number,
        domain: get("d"),
        selector: get("s"),
        algorithm: get("a"),
        tags: tags
            .as_ref()
            .map(|t| explain_tags(t, now, lang))
            .unwrap_or_default(),
        signed_fields: Vec::new(),
        unsigned_fields: Vec::new(),
        risks: Vec::new(),
        parse_error: parsed.as_ref().err().map(|e| e.to_string()),
        check: None,
        diagnosis: Vec::new(),
    };
    let Ok(sig) = parsed else { return report };
    report.signed_fields = sig.signed_headers.clone();
    let signed = |name: &str| {
        sig.signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    };
    let mut seen: Vec<String> = Vec::new();
    for f in headers.fields() {
        let lower = f.name().to_ascii_lowercase();
        if TRACE_FIELDS.contains(&lower.as_str())
            || lower.starts_with("x-")
            || lower.starts_with("arc-")
            || signed(&lower)
            || seen.contains(&lower)
        {
            continue;
        }
        seen.push(lower);
        report.unsigned_fields.push(f.name().to_string());
    }
    for warning in hanko::dkim::coverage_warnings(headers, &sig) {
        report.risks.push(warning_text(&warning, lang));
    }
    if let Some(length) = sig.body_length {
        report.risks.push(tr!(
            lang,
            "l={}: content appended after the first {} body octets is not covered, so a forwarder or an attacker can add text (RFC 6376 §8.2).",
            "l={}: 本文の先頭 {} オクテットより後ろは署名の対象外です。転送者や攻撃者が文章を追加できます (RFC 6376 §8.2)。",
            length,
            length
        ));
    }
    if let Some(x) = sig.expiration {
        if x < now {
            report.risks.push(tr!(
                lang,
                "The signature expired at {} (x=).",
                "署名は {} に期限切れになっています (x=)。",
                format_utc(x as i64)
            ));
        }
    }
    report
}

/// Fills in hanko's own result.
pub(crate) fn record_check(
    report: &mut SignatureReport,
    result: &DkimResult,
    headers_only: bool,
    lang: Lang,
) {
    let headers_verified = headers_only
        && matches!(
            result.failure,
            Some(DkimFailure::BodyHashMismatch {
                headers_intact: true
            })
        );
    let key = result.key.as_ref().map(|k| {
        let size = k.bits.map(|b| format!(" {b}")).unwrap_or_default();
        let via = if k.aliases.is_empty() {
            String::new()
        } else {
            tr!(
                lang,
                " via CNAME {}",
                " (CNAME {} 経由)",
                k.aliases.join(" -> ")
            )
        };
        tr!(
            lang,
            "{}{} bits at {}{}",
            "{}{} ビット、{}{}",
            k.key_type,
            size,
            k.name,
            via
        )
    });
    report.check = Some(SignatureCheck {
        verdict: result.verdict().as_str().to_string(),
        reason: if headers_verified {
            Some(
                lang.pick(
                    "the signature over the header fields is valid; the body was not supplied, so its hash was not checked",
                    "ヘッダーに対する署名は有効です。本文がないため本文ハッシュは確認していません",
                )
                .to_string(),
            )
        } else {
            result.failure.as_ref().map(|f| failure_text(f, lang))
        },
        headers_verified_body_not_checked: headers_verified,
        key,
        warnings: result
            .warnings
            .iter()
            .map(|w| warning_text(w, lang))
            .collect(),
    });
}

/// Checks the header signature of `sig` over `headers` with `key`.
fn headers_verify(
    headers: &Headers,
    field: &HeaderField,
    sig: &Signature,
    key: &KeyRecord,
) -> bool {
    let input = header_hash_input(headers, field, sig);
    key.verifies(sig.algorithm.hash(), &input, &sig.signature)
}

/// `headers` with field `index` replaced by `replacement` (or removed).
fn edited(headers: &Headers, index: usize, replacement: Option<HeaderField>) -> Headers {
    let mut out = Headers::new();
    for (i, f) in headers.fields().iter().enumerate() {
        if i == index {
            if let Some(r) = &replacement {
                out.push(r.clone());
            }
        } else {
            out.push(f.clone());
        }
    }
    out
}

/// A Subject value with a leading tag removed: `[list] `, `[EXTERNAL] `, `*** SPAM *** `.
fn untagged_subject(value: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(value);
    let lead = text.len() - text.trim_start().len();
    let trimmed = text.trim_start();
    let end = if let Some(rest) = trimmed.strip_prefix('[') {
        rest.find(']')? + 2
    } else if let Some(rest) = trimmed.strip_prefix("***") {
        rest.find("***")? + 6
    } else {
        return None;
    };
    let after = trimmed[end..].trim_start();
    Some(format!("{}{}", &text[..lead], after).into_bytes())
}

/// Why the header signature failed, found by rebuilding candidates.
fn diagnose_headers(
    headers: &Headers,
    field: &HeaderField,
    sig: &Signature,
    key: &KeyRecord,
    lang: Lang,
    budget: &mut WorkBudget,
) -> Option<String> {
    let mut tried = 0usize;
    // Each candidate copies the section, hashes what the signature covers, and verifies.
    let section: usize = headers.fields().iter().map(|f| f.raw().len() + 2).sum();
    let cost = 2 * section + VERIFY_COST;
    // A tag put in front of the Subject by a list or a gateway.
    if let Some((index, subject)) = headers
        .fields()
        .iter()
        .enumerate()
        .rev()
        .find(|(_, f)| f.is("Subject"))
    {
        if let Some(value) = untagged_subject(subject.value()) {
            tried += 1;
            if !budget.spend(cost) {
                return None;
            }
            let candidate = HeaderField::from_parts(subject.name(), &value);
            if headers_verify(&edited(headers, index, candidate), field, sig, key) {
                let tag = String::from_utf8_lossy(subject.value()).trim().to_string();
                return Some(tr!(
                    lang,
                    "The Subject was changed after signing: without its leading tag the signature verifies. A mailing list or a security gateway added the tag (Subject now: \"{}\").",
                    "署名後に Subject が変更されています。先頭のタグを外すと署名が検証できます。メーリングリストかセキュリティゲートウェイがタグを付けました (現在の Subject: \"{}\")。",
                    tag
                ));
            }
        }
    }
    // A field added after signing: remove each instance of a signed name in turn.
    for (index, f) in headers.fields().iter().enumerate() {
        if tried >= MAX_CANDIDATES {
            break;
        }
        if !sig.signed_headers.iter().any(|h| f.is(h)) || std::ptr::eq(f, field) {
            continue;
        }
        let count = headers.named(f.name()).count();
        if count < 2 {
            continue;
        }
        tried += 1;
        if !budget.spend(cost) {
            return None;
        }
        if headers_verify(&edited(headers, index, None), field, sig, key) {
            return Some(tr!(
                lang,
                "A {} field was added after signing (\"{}\"); without it the signature verifies.",
                "署名後に {} フィールドが追加されています (\"{}\")。これを除くと署名が検証できます。",
                f.name(),
                f.unfolded_value()
            ));
        }
    }
    // Re-folded or re-spaced fields: only matters for c=simple.
    if sig.canonicalization.header == CanonicalizationAlgorithm::Simple && budget.spend(cost) {
        let mut unfolded = Headers::new();
        for f in headers.fields() {
            let raw: Vec<u8> = f
                .raw()
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect();
            match HeaderField::parse(raw) {
                Some(u) => unfolded.push(u),
                None => unfolded.push(f.clone()),
            }
        }
        if headers_verify(&unfolded, field, sig, key) {
            return Some(lang.pick(
                "A signed field was re-folded after signing (white space only). c=simple headers break on that; relaxed would have matched.",
                "署名後に署名対象のフィールドが折り返し直されています (空白だけの変更)。simple ではこれで失敗しますが、relaxed なら一致していました。",
            ).into());
        }
    }
    None
}

/// The canonical form of `body` under `algorithm`.
fn canonical(body: &[u8], algorithm: CanonicalizationAlgorithm) -> Vec<u8> {
    let mut canon = BodyCanonicalizer::new(algorithm);
    let mut out = Vec::with_capacity(body.len());
    canon.push(body, &mut out);
    canon.finish(&mut out);
    out
}

fn hash_matches(data: &[u8], sig: &Signature) -> bool {
    let mut h = Hasher::new(sig.algorithm.hash());
    h.update(data);
    h.finish() == sig.body_hash
}

/// Decodes quoted-printable (RFC 2045 §6.7) to the octets it stands for, with CRLF line ends.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut line = line;
        while let [rest @ .., b' ' | b'\t'] = line {
            line = rest;
        }
        let (line, soft) = match line.strip_suffix(b"=") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut i = 0;
        while i < line.len() {
            if line[i] == b'=' {
                let hex = line
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(line[i]);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Why the body hash failed, found by rebuilding candidates.
fn diagnose_body(
    headers: &Headers,
    body: &[u8],
    sig: &Signature,
    lang: Lang,
    budget: &mut WorkBudget,
) -> Vec<String> {
    let mut out = Vec::new();
    // Each rebuilt body is a pass over the body or less: the canonical form, the footer
    // search, a decoding, the white-space forms.
    if !budget.spend(2 * body.len()) {
        return out;
    }
    let algorithm = sig.canonicalization.body;
    let canon = canonical(body, algorithm);
    // Content appended after signing: a prefix that ends at a line end matches bh=.
    if sig.body_length.is_none() {
        let mut hasher = Hasher::new(sig.algorithm.hash());
        let mut start = 0;
        let mut found = None;
        let empty_prefix = if algorithm == CanonicalizationAlgorithm::Simple {
            &b"\r\n"[..]
        } else {
            &b""[..]
        };
        if hash_matches(empty_prefix, sig) {
            found = Some(0);
        }
        for (lines, end) in canon
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w == b"\r\n")
            .map(|(i, _)| i + 2)
            .enumerate()
        {
            if found.is_some() || lines >= MAX_FOOTER_LINES || end == canon.len() {
                break;
            }
            hasher.update(&canon[start..end]);
            start = end;
            if hasher.clone().finish() == sig.body_hash {
                found = Some(end);
            }
        }
        if let Some(end) = found {
            let added = &canon[end..];
            let first = String::from_utf8_lossy(added)
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect::<String>();
            out.push(tr!(
                lang,
                "{} octets were appended to the body after signing; the body up to them matches bh=. A mailing-list footer or a gateway disclaimer is the usual cause. The added text starts: \"{}\".",
                "署名後に本文の末尾へ {} オクテットが追加されています。その手前までは bh= と一致します。メーリングリストのフッターやゲートウェイの免責文がよくある原因です。追加部分の書き出し: \"{}\"",
                added.len(),
                first
            ));
            return out;
        }
    }
    // Re-encoded by a relay (8bit to quoted-printable or base64).
    let encoding = headers
        .named("Content-Transfer-Encoding")
        .next()
        .map(|f| f.unfolded_value().to_ascii_lowercase());
    let decoded = match encoding.as_deref() {
        Some("quoted-printable") => Some(decode_quoted_printable(body)),
        Some("base64") => {
            use base64::Engine;
            let text: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .map(|d| hanko::message::CrlfNormalizer::normalize(&d))
        }
        _ => None,
    };
    if let (Some(decoded), Some(name)) = (decoded, encoding.as_deref()) {
        if budget.spend(2 * body.len()) && hash_matches(&canonical(&decoded, algorithm), sig) {
            out.push(tr!(
                lang,
                "The body was re-encoded to {} after signing: decoded, it matches bh=. A relay without 8BITMIME converted it; the text itself is unchanged.",
                "署名後に本文が {} に変換されています。デコードすると bh= と一致します。8BITMIME に対応しない中継サーバーが変換したもので、内容自体は変わっていません。",
                name
            ));
            return out;
        }
    }
    // White space only: what relaxed would have forgiven.
    if algorithm == CanonicalizationAlgorithm::Simple && budget.spend(4 * body.len()) {
        let relaxed_like: Vec<u8> = canonical(body, CanonicalizationAlgorithm::Relaxed);
        let trimmed = {
            let mut t = Vec::with_capacity(body.len());
            for line in body.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let mut l = line;
                while let [rest @ .., b' ' | b'\t'] = l {
                    l = rest;
                }
                t.extend_from_slice(l);
                t.extend_from_slice(b"\r\n");
            }
            t
        };
        if hash_matches(&canonical(&trimmed, algorithm), sig) || hash_matches(&relaxed_like, sig) {
            out.push(lang.pick(
                "Only white space changed in the body (spaces at line ends). c=simple breaks on that; relaxed would have matched.",
                "本文で変わったのは空白だけです (行末の空白)。simple ではこれで失敗しますが、relaxed なら一致していました。",
            ).into());
            return out;
        }
    }
    if LIST_FIELDS
        .iter()
        .any(|n| headers.named(n).next().is_some())
    {
        out.push(lang.pick(
            "The message passed through a mailing list (List-* fields present): lists often rewrite the body (footers, re-encoding, removed attachments).",
            "メッセージはメーリングリストを経由しています (List-* フィールドあり)。リストは本文をよく書き換えます (フッター、再エンコード、添付の削除)。",
        ).into());
    } else {
        out.push(lang.pick(
            "The body changed after signing in a way hanko could not undo (not an appended footer, not a re-encoding, not white space only): an antivirus or DLP banner, link rewriting (Safe Links, URL defense) or line re-wrapping are the usual causes.",
            "署名後に本文が変更されていますが、hanko では元に戻せませんでした (末尾への追加・再エンコード・空白の変更のいずれでもありません)。ウイルス対策や DLP のバナー、リンクの書き換え (Safe Links など)、行の折り返し直しがよくある原因です。",
        ).into());
    }
    out
}

/// The diagnosis of a failed signature. `key` is the record fetched for it; `body` is `None`
/// for headers-only input.
pub(crate) fn diagnose(
    headers: &Headers,
    field: &HeaderField,
    result: &DkimResult,
    key: Option<&KeyRecord>,
    body: Option<&[u8]>,
    lang: Lang,
    budget: &mut WorkBudget,
) -> Vec<String> {
    let (Some(sig), Some(failure)) = (result.parsed_signature(), &result.failure) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let header_failed = matches!(
        failure,
        DkimFailure::SignatureMismatch
            | DkimFailure::BodyHashMismatch {
                headers_intact: false
            }
    );
    let body_failed = matches!(failure, DkimFailure::BodyHashMismatch { .. });
    match (body_failed, header_failed) {
        (true, false) if body.is_some() => out.push(
            lang.pick(
                "The body changed; the signed header fields are intact.",
                "本文が変更されています。署名対象のヘッダーは無傷です。",
            )
            .into(),
        ),
        (true, true) => out.push(
            lang.pick(
                "Both the body and the signed header fields changed (or the key no longer matches the one that signed).",
                "本文と署名対象のヘッダーの両方が変わっています (または公開鍵が署名時のものと違います)。",
            )
            .into(),
        ),
        (false, true) => out.push(
            lang.pick(
                "A signed header field changed; the body is intact.",
                "署名対象のヘッダーが変更されています。本文は無傷です。",
            )
            .into(),
        ),
        _ => {}
    }
    if header_failed {
        match key.and_then(|k| diagnose_headers(headers, field, sig, k, lang, budget)) {
            Some(cause) => out.push(cause),
            None => {
                let signed: Vec<&str> = sig
                    .signed_headers
                    .iter()
                    .filter(|h| headers.named(h).next().is_some())
                    .map(String::as_str)
                    .collect();
                out.push(tr!(
                    lang,
                    "hanko could not find which field changed. The signature covers: {}. If none of them was touched, the key published at {} was replaced after the message was signed.",
                    "どのフィールドが変わったかは特定できませんでした。署名の対象: {}。どれも変わっていなければ、{} の公開鍵が署名後に差し替えられています。",
                    signed.join(", "),
                    sig.key_name()
                ));
            }
        }
    }
    if body_failed {
        if let Some(body) = body {
            out.extend(diagnose_body(headers, body, sig, lang, budget));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_subject_tags() {
        assert_eq!(
            decode_quoted_printable(b"caf=C3=A9 =\r\nau lait  \r\n=3D\r\n"),
            "café au lait\r\n=\r\n\r\n".as_bytes()
        );
        assert_eq!(
            untagged_subject(b" [dev-list] Re: hello").as_deref(),
            Some(&b" Re: hello"[..])
        );
        assert_eq!(
            untagged_subject(b" *** SPAM *** win").as_deref(),
            Some(&b" win"[..])
        );
        assert_eq!(untagged_subject(b" hello"), None);
    }

    #[test]
    fn every_tag_has_a_meaning_in_both_languages() {
        for tag in [
            "v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z", "cv", "zz",
        ] {
            let en = explain_tag(tag, "1", 10, Lang::En);
            let ja = explain_tag(tag, "1", 10, Lang::Ja);
            assert!(!en.is_empty() && en != ja, "{tag}");
        }
        assert!(explain_tag("x", "5", 10, Lang::En).starts_with("Expired"));
        assert!(explain_tag("c", "relaxed/simple", 0, Lang::En).contains("body simple"));
    }

    #[test]
    fn folded_values_are_shown_unfolded() {
        let tags = TagList::parse(
            b"v=1; h=from:to:\r\n\tsubject:date; b=abc\r\n def; z=From:a@b.example\r\n |To:c@d.example",
        )
        .unwrap();
        let shown = explain_tags(&tags, 0, Lang::En);
        let value = |t: &str| shown.iter().find(|x| x.tag == t).unwrap().value.clone();
        assert_eq!(value("h"), "from:to: subject:date");
        assert_eq!(value("b"), "abcdef");
        assert_eq!(value("z"), "From:a@b.example |To:c@d.example");
    }
}
