//! The ARC chain as hanko validated it (RFC 8617): who sealed, what each hop recorded,
//! whether each signature verifies now, and where the message was changed.

use hanko::arc::{ArcFailure, ArcResult, ArcSignature, ChainStatus};
use serde::Serialize;

use super::{tr, Lang};

/// The chain, one row per hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcChainReport {
    /// `pass` or `fail` (a message without ARC sets has no report).
    pub result: String,
    /// Why, in a sentence.
    pub detail: String,
    /// The oldest hop from which every ARC-Message-Signature verifies: the message is as
    /// that hop sealed it.
    pub oldest_pass: Option<u32>,
    /// The hops, oldest first; empty when the sets could not even be told apart.
    pub hops: Vec<ArcHop>,
    /// What a reader should know about ARC itself: its standards status, and that
    /// receivers trust it only from sealers they choose.
    pub note: String,
}

/// One hop of the chain: an ARC set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcHop {
    /// `i=`.
    pub instance: u32,
    /// Who sealed it: `d=` of its ARC-Seal.
    pub sealer: Option<String>,
    /// Its ARC-Seal now: `pass`, `fail`, ...; `None` when validation stopped before it.
    pub seal: Option<String>,
    /// Its ARC-Message-Signature now; `None` when not checked.
    pub message_signature: Option<String>,
    /// Why a signature of this hop does not verify, when one does not.
    pub problem: Option<String>,
    /// This hop changed the message: the hop before it no longer verifies, this one does.
    pub changed_message: bool,
    /// What the hop recorded of the message's authentication when it received it (its
    /// ARC-Authentication-Results after `i=`), unfolded.
    pub recorded: String,
}

/// The report of `arc`, or `None` for a message without ARC fields.
pub(super) fn report(arc: &ArcResult, lang: Lang) -> Option<ArcChainReport> {
    if arc.status() == ChainStatus::None {
        return None;
    }
    let hops = arc
        .sets
        .iter()
        .map(|set| ArcHop {
            instance: set.instance,
            sealer: set.seal.domain().map(str::to_string),
            seal: word(&set.seal),
            message_signature: word(&set.message_signature),
            problem: set
                .seal
                .failure()
                .or(set.message_signature.failure())
                .map(ToString::to_string),
            changed_message: arc
                .oldest_pass
                .is_some_and(|oldest| oldest > 1 && oldest == set.instance),
            recorded: set
                .authentication_results
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    Some(ArcChainReport {
        result: arc.status().as_str().to_string(),
        detail: detail(arc, lang),
        oldest_pass: arc.oldest_pass,
        hops,
        note: tr!(
            lang,
            "ARC is on its way to Historic (draft-ietf-dmarc-arc-to-historic), but Gmail and Microsoft 365 seal the mail they forward. A valid chain proves who handled the message and what each hop recorded, not that the hops are honest: Microsoft 365 honours ARC only from the sealers an administrator lists, Gmail by its own judgement.",
            "ARC は Historic (歴史的) への移行が進んでいますが、Gmail と Microsoft 365 は転送するメールに封印 (ARC-Seal) を付けます。有効なチェーンが示すのは、誰がメッセージを扱い各ホップが何を記録したかであり、ホップが正直であることではありません。Microsoft 365 は管理者が指定した封印者の ARC だけを、Gmail は独自の判断で ARC を信頼します。"
        ),
    })
}

fn word(signature: &ArcSignature) -> Option<String> {
    signature.verdict().map(|v| v.as_str().to_string())
}

/// The chain's result in a sentence.
fn detail(arc: &ArcResult, lang: Lang) -> String {
    let sealer = |instance: u32| {
        arc.sets
            .iter()
            .find(|s| s.instance == instance)
            .and_then(|s| s.seal.domain())
            .unwrap_or("?")
            .to_string()
    };
    match (&arc.failure, arc.oldest_pass) {
        (None, Some(1)) => tr!(
            lang,
            "The chain of {} hop(s) validates, and the message is as the first hop ({}) sealed it.",
            "{} ホップのチェーンは有効で、メッセージは最初のホップ ({}) が封印したときのままです。",
            arc.sets.len(),
            sealer(1)
        ),
        (None, Some(oldest)) => tr!(
            lang,
            "The chain of {} hop(s) validates; hop {} ({}) changed the message, so what the hops before it recorded was about an earlier version.",
            "{} ホップのチェーンは有効です。ホップ {} ({}) がメッセージを変更したため、それより前のホップの記録は変更前の版についてのものです。",
            arc.sets.len(),
            oldest,
            sealer(oldest)
        ),
        (None, None) => tr!(lang, "The chain validates.", "チェーンは有効です。"),
        (Some(ArcFailure::MarkedFailed { instance }), _) => tr!(
            lang,
            "Hop {} ({}) already found the chain broken (cv=fail): nothing in it can be relied on.",
            "ホップ {} ({}) がすでにチェーンの破損を検出しています (cv=fail)。チェーンの内容は信頼できません。",
            instance,
            sealer(*instance)
        ),
        (Some(ArcFailure::MessageSignature { instance, .. }), _) => tr!(
            lang,
            "The message was changed after the last hop ({}) sealed it: its ARC-Message-Signature no longer verifies.",
            "最後のホップ ({}) が封印した後にメッセージが変更されています。ARC-Message-Signature を検証できません。",
            sealer(*instance)
        ),
        (Some(failure), _) => tr!(
            lang,
            "The chain does not validate: {}.",
            "チェーンは無効です: {}。",
            failure
        ),
    }
}
