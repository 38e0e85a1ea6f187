//! Anti-spam verdict fields, decoded where the format is public: Microsoft's
//! `X-Forefront-Antispam-Report`, `X-Microsoft-Antispam` and `X-MS-Exchange-Organization-SCL`
//! (Microsoft's "Anti-spam message headers" documentation) and SpamAssassin's
//! `X-Spam-Status`. Other vendors' fields are listed as they are.

use serde::Serialize;

use super::signatures::TagExplained;
use super::{tr, Lang};
use hanko::message::Headers;

/// One anti-spam field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AntispamField {
    /// The field name, as written.
    pub field: String,
    /// Who writes it (`Microsoft 365`, `SpamAssassin`, `Rspamd`, ...).
    pub vendor: String,
    /// The value as written (unfolded).
    pub raw: String,
    /// The parts hanko can decode, each explained; empty for formats that are not public.
    pub decoded: Vec<TagExplained>,
}

/// Name prefixes of anti-spam fields whose format is not public, with their vendor.
const LISTED: &[(&str, &str)] = &[
    ("x-spam-", "SpamAssassin"),
    ("x-rspamd-", "Rspamd"),
    ("x-spamd-", "Rspamd"),
    ("x-mimecast-", "Mimecast"),
    ("x-proofpoint-", "Proofpoint"),
    ("x-barracuda-", "Barracuda"),
    ("x-ironport-", "Cisco Secure Email"),
    ("x-sophos-", "Sophos"),
    ("x-microsoft-antispam-", "Microsoft 365"),
    ("x-ms-exchange-", "Microsoft 365"),
    ("x-gm-", "Gmail"),
    ("x-google-", "Gmail"),
    ("x-forefront-", "Microsoft 365"),
    ("x-eopattributedmessage", "Microsoft 365"),
];

/// Which of the listed `x-ms-exchange-` fields are anti-spam ones (the rest are routing).
fn listed(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("x-ms-exchange-") && !lower.contains("antispam") && !lower.contains("scl")
    {
        return None;
    }
    if (lower.starts_with("x-gm-") || lower.starts_with("x-google-"))
        && !lower.contains("spam")
        && !lower.contains("phish")
    {
        return None;
    }
    LISTED
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
        .map(|(_, vendor)| *vendor)
}

fn scl(value: &str, lang: Lang) -> String {
    let s = |en: &str, ja: &str| lang.pick(en, ja).to_string();
    match value.trim().parse::<i32>() {
        Ok(-1) => s(
            "Spam confidence level -1: filtering skipped (trusted sender, allow list or internal).",
            "スパム信頼レベル -1: フィルタリングを省略 (信頼済み送信者、許可リスト、組織内)。",
        ),
        Ok(0..=1) => s(
            "Spam confidence level: not spam, delivered to the inbox.",
            "スパム信頼レベル: スパムではない。受信トレイに配信。",
        ),
        Ok(5..=6) => s(
            "Spam confidence level: spam, delivered to Junk.",
            "スパム信頼レベル: スパム。迷惑メールフォルダーに配信。",
        ),
        Ok(7..=9) => s(
            "Spam confidence level: high confidence spam.",
            "スパム信頼レベル: 確度の高いスパム。",
        ),
        _ => s(
            "Spam confidence level (a value Microsoft does not document).",
            "スパム信頼レベル (文書化されていない値)。",
        ),
    }
}

fn sfv(value: &str, lang: Lang) -> String {
    let s = |en: &str, ja: &str| lang.pick(en, ja).to_string();
    match value.trim().to_ascii_uppercase().as_str() {
        "NSPM" => s(
            "Spam filter verdict: not spam.",
            "スパムフィルターの判定: スパムではない。",
        ),
        "SPM" => s(
            "Spam filter verdict: spam.",
            "スパムフィルターの判定: スパム。",
        ),
        "BLK" => s(
            "Blocked by the recipient's blocked senders list.",
            "受信者の受信拒否リストでブロック。",
        ),
        "SFE" => s(
            "Allowed by the recipient's safe senders list.",
            "受信者の差出人セーフリストで許可。",
        ),
        "SKA" => s(
            "Allowed by an anti-spam policy allow list.",
            "迷惑メール対策ポリシーの許可リストで許可。",
        ),
        "SKB" => s(
            "Blocked by an anti-spam policy block list.",
            "迷惑メール対策ポリシーの禁止リストでブロック。",
        ),
        "SKI" => s(
            "Intra-organization message: filtering skipped.",
            "組織内のメッセージのためフィルタリングを省略。",
        ),
        "SKN" => s(
            "Marked not spam before filtering (a mail flow rule).",
            "フィルタリング前に非スパムと判定 (メールフロールール)。",
        ),
        "SKQ" => s("Released from quarantine.", "検疫から解放。"),
        "SKS" => s(
            "Marked spam before filtering (a mail flow rule).",
            "フィルタリング前にスパムと判定 (メールフロールール)。",
        ),
        _ => s(
            "Spam filter verdict (undocumented value).",
            "スパムフィルターの判定 (文書化されていない値)。",
        ),
    }
}

fn cat(value: &str, lang: Lang) -> String {
    let (en, ja) = match value.trim().to_ascii_uppercase().as_str() {
        "NONE" => ("no protection policy applied", "適用された保護ポリシーなし"),
        "BULK" => ("bulk mail", "バルクメール"),
        "SPM" => ("spam", "スパム"),
        "HSPM" => ("high confidence spam", "確度の高いスパム"),
        "PHSH" => ("phishing", "フィッシング"),
        "HPHSH" | "HPHISH" => ("high confidence phishing", "確度の高いフィッシング"),
        "SPOOF" => ("spoofing", "なりすまし"),
        "MALW" => ("malware", "マルウェア"),
        "AMP" => ("anti-malware", "マルウェア対策"),
        "SAP" => ("Safe Attachments", "安全な添付ファイル"),
        "OSPM" => ("outbound spam", "送信スパム"),
        "DIMP" => ("domain impersonation", "ドメインの偽装"),
        "UIMP" => ("user impersonation", "ユーザーの偽装"),
        "GIMP" => (
            "mailbox intelligence impersonation",
            "メールボックスインテリジェンスによる偽装検出",
        ),
        "BIMP" => ("brand impersonation", "ブランドの偽装"),
        "INTOS" => ("intra-organization phishing", "組織内のフィッシング"),
        "FTBP" => ("blocked file type", "ブロックされたファイルの種類"),
        _ => ("an undocumented category", "文書化されていないカテゴリ"),
    };
    tr!(
        lang,
        "Protection policy category: {}.",
        "保護ポリシーのカテゴリ: {}。",
        lang.pick(en, ja)
    )
}

/// The `KEY:value;` pairs of Microsoft's fields that `meaning` explains (it returns `None`
/// for the keys it leaves out).
fn key_values(value: &str, meaning: impl Fn(&str, &str) -> Option<String>) -> Vec<TagExplained> {
    value
        .split(';')
        .filter_map(|part| {
            let (key, v) = part.split_once(':')?;
            let (key, v) = (key.trim(), v.trim());
            Some(TagExplained {
                meaning: meaning(&key.to_ascii_uppercase(), v)?,
                tag: key.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}

fn forefront(value: &str, lang: Lang) -> Vec<TagExplained> {
    key_values(value, |key, v| {
        Some(match key {
            "CIP" => tr!(
                lang,
                "Connecting IP address: {}.",
                "接続元 IP アドレス: {}。",
                v
            ),
            "CTRY" => tr!(
                lang,
                "Country of the connecting IP: {}.",
                "接続元 IP の国: {}。",
                v
            ),
            "LANG" => tr!(
                lang,
                "Language of the message: {}.",
                "メッセージの言語: {}。",
                v
            ),
            "SCL" => scl(v, lang),
            "SFV" => sfv(v, lang),
            "CAT" => cat(v, lang),
            "IPV" => match v.to_ascii_uppercase().as_str() {
                "CAL" => lang
                    .pick(
                        "The IP is on the connection filter's allow list.",
                        "IP は接続フィルターの許可リストにあります。",
                    )
                    .into(),
                "NLI" => lang
                    .pick(
                        "The IP is not listed on any reputation list.",
                        "IP はどの評価リストにも載っていません。",
                    )
                    .into(),
                _ => lang
                    .pick(
                        "IP reputation (undocumented value).",
                        "IP の評価 (文書化されていない値)。",
                    )
                    .into(),
            },
            "H" => tr!(
                lang,
                "HELO/EHLO name of the connecting server: {}.",
                "接続元サーバーの HELO/EHLO 名: {}。",
                v
            ),
            "PTR" => tr!(
                lang,
                "Reverse DNS of the connecting IP: {}.",
                "接続元 IP の逆引き名: {}。",
                v
            ),
            "DIR" => match v.to_ascii_uppercase().as_str() {
                "INB" => lang.pick("Direction: inbound.", "方向: 受信。").into(),
                "OUT" => lang.pick("Direction: outbound.", "方向: 送信。").into(),
                "INT" => lang.pick("Direction: internal.", "方向: 組織内。").into(),
                _ => lang
                    .pick(
                        "Direction (undocumented value).",
                        "方向 (文書化されていない値)。",
                    )
                    .into(),
            },
            "SRV" if v.eq_ignore_ascii_case("BULK") => lang
                .pick("Identified as bulk mail.", "バルクメールと判定。")
                .into(),
            "SFTY" => tr!(
                lang,
                "Safety tip {} shown (9.19 domain impersonation, 9.20 user impersonation).",
                "安全のヒント {} を表示 (9.19 ドメイン偽装、9.20 ユーザー偽装)。",
                v
            ),
            "PCL" => tr!(
                lang,
                "Phishing confidence level {}.",
                "フィッシング信頼レベル {}。",
                v
            ),
            "SFS" | "SFP" | "RULEID" => lang
                .pick(
                    "Internal rule identifiers of the spam filter.",
                    "スパムフィルター内部のルール ID。",
                )
                .into(),
            _ => return None,
        })
    })
}

fn microsoft_antispam(value: &str, lang: Lang) -> Vec<TagExplained> {
    key_values(value, |key, v| {
        Some(match key {
            "BCL" => {
                let level = v.parse::<u32>().unwrap_or(99);
                let (en, ja) = match level {
                    0 => ("not bulk mail", "バルクメールではない"),
                    1..=3 => ("bulk mail with few complaints", "苦情の少ないバルクメール"),
                    4..=7 => (
                        "bulk mail with a mixed number of complaints",
                        "苦情がある程度あるバルクメール",
                    ),
                    8..=9 => ("bulk mail with many complaints", "苦情の多いバルクメール"),
                    _ => ("an undocumented value", "文書化されていない値"),
                };
                tr!(
                    lang,
                    "Bulk complaint level {}: {}.",
                    "バルク苦情レベル {}: {}。",
                    v,
                    lang.pick(en, ja)
                )
            }
            "PCL" => tr!(
                lang,
                "Phishing confidence level {}.",
                "フィッシング信頼レベル {}。",
                v
            ),
            _ => return None,
        })
    })
}

fn spam_status(value: &str, lang: Lang) -> Vec<TagExplained> {
    let mut out = Vec::new();
    let (flag, rest) = value.split_once(',').unwrap_or((value, ""));
    let flag = flag.trim();
    out.push(TagExplained {
        tag: "verdict".into(),
        value: flag.to_string(),
        meaning: if flag.eq_ignore_ascii_case("yes") {
            lang.pick(
                "SpamAssassin judged the message spam.",
                "SpamAssassin はスパムと判定しました。",
            )
            .into()
        } else {
            lang.pick(
                "SpamAssassin judged the message not spam.",
                "SpamAssassin はスパムではないと判定しました。",
            )
            .into()
        },
    });
    for word in rest.split_whitespace() {
        let Some((key, v)) = word.split_once('=') else {
            continue;
        };
        let meaning = match key {
            "score" | "hits" => lang
                .pick(
                    "The total score of the rules that matched.",
                    "一致したルールの合計スコア。",
                )
                .into(),
            "required" => lang
                .pick(
                    "The score from which a message counts as spam.",
                    "この値以上でスパムと判定されるスコア。",
                )
                .into(),
            "tests" => {
                let rules: Vec<&str> = v.split(',').filter(|r| !r.is_empty()).collect();
                tr!(
                    lang,
                    "{} rule(s) matched: {}.",
                    "{} 個のルールが一致: {}。",
                    rules.len(),
                    rules.join(", ")
                )
            }
            "autolearn" => lang
                .pick(
                    "Whether the Bayes filter learned from this message.",
                    "ベイズフィルターがこのメッセージから学習したか。",
                )
                .into(),
            "version" => lang
                .pick("SpamAssassin version.", "SpamAssassin のバージョン。")
                .into(),
            _ => continue,
        };
        out.push(TagExplained {
            tag: key.to_string(),
            value: v.to_string(),
            meaning,
        });
    }
    out
}

/// The anti-spam fields of `headers`, top first.
pub(crate) fn antispam(headers: &Headers, lang: Lang) -> Vec<AntispamField> {
    let mut out = Vec::new();
    for field in headers.fields() {
        let name = field.name();
        let raw = field.unfolded_value();
        let (vendor, decoded) = if field.is("X-Forefront-Antispam-Report")
            || field.is("X-Forefront-Antispam-Report-Untrusted")
        {
            ("Microsoft 365", forefront(&raw, lang))
        } else if field.is("X-Microsoft-Antispam") || field.is("X-Microsoft-Antispam-Untrusted") {
            ("Microsoft 365", microsoft_antispam(&raw, lang))
        } else if field.is("X-MS-Exchange-Organization-SCL") {
            (
                "Microsoft 365",
                vec![TagExplained {
                    tag: "SCL".into(),
                    value: raw.clone(),
                    meaning: scl(&raw, lang),
                }],
            )
        } else if field.is("X-Spam-Status") {
            ("SpamAssassin", spam_status(&raw, lang))
        } else if let Some(vendor) = listed(name) {
            (vendor, Vec::new())
        } else {
            continue;
        };
        out.push(AntispamField {
            field: name.to_string(),
            vendor: vendor.to_string(),
            raw,
            decoded,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanko::message::MessageLimits;

    #[test]
    fn microsoft_and_spamassassin() {
        let headers = Headers::parse(
            b"X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:JP;LANG:ja;SCL:5;SRV:;IPV:NLI;SFV:SPM;H:mail.example.com;PTR:mail.example.com;CAT:SPOOF;SFS:(13230040)(8096899003);DIR:INB;\r\n\
              X-Microsoft-Antispam: BCL:0;ARA:13230040\r\n\
              X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,SPF_FAIL\r\n\tautolearn=no version=4.0.0\r\n\
              X-Rspamd-Score: 3.5\r\n\
              X-MS-Exchange-Organization-Network-Message-Id: abc\r\n",
            &MessageLimits::default(),
        )
        .unwrap();
        let fields = antispam(&headers, Lang::En);
        assert_eq!(fields.len(), 4);
        let ff = &fields[0].decoded;
        assert!(ff
            .iter()
            .any(|t| t.tag == "SCL" && t.meaning.contains("Junk")));
        assert!(ff
            .iter()
            .any(|t| t.tag == "CAT" && t.meaning.contains("spoofing")));
        assert!(ff
            .iter()
            .any(|t| t.tag == "SFV" && t.meaning.ends_with("spam.")));
        assert!(fields[1].decoded[0].meaning.contains("not bulk"));
        let sa = &fields[2].decoded;
        assert!(sa[0].meaning.contains("judged the message spam"));
        assert!(sa
            .iter()
            .any(|t| t.tag == "tests" && t.meaning.starts_with("2 rule")));
        assert_eq!(fields[3].vendor, "Rspamd");
        assert!(fields[3].decoded.is_empty());
    }
}
