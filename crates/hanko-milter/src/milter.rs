//! The milter protocol glue: indymilter callbacks that feed a [`MessageFilter`] and carry out
//! its [`Decision`].

use std::ffi::{CStr, CString};
use std::sync::{Arc, RwLock};

use indymilter::{
    Actions, Callbacks, Context, ContextActions, EomContext, MacroStage, NegotiateContext,
    ProtoOpts, SetErrorReply, SocketInfo, Status,
};

use crate::config::{Fallback, Settings};
use crate::filter::{Action, Decision, Envelope, MessageFilter, SharedLookup};

/// The settings and DNS lookup in force; replaced whole on reload. Each SMTP connection takes
/// the ones current when it begins and keeps them to its end.
pub struct Shared {
    current: RwLock<(Arc<Settings>, SharedLookup)>,
}

impl Shared {
    /// Starts with these settings.
    pub fn new(settings: Settings, lookup: SharedLookup) -> Arc<Shared> {
        Arc::new(Shared {
            current: RwLock::new((Arc::new(settings), lookup)),
        })
    }

    /// The settings and lookup now.
    pub fn current(&self) -> (Arc<Settings>, SharedLookup) {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        (guard.0.clone(), guard.1.clone())
    }

    /// Puts new settings in force for connections that begin from now on.
    pub fn replace(&self, settings: Settings, lookup: SharedLookup) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        *guard = (Arc::new(settings), lookup);
    }
}

/// One SMTP connection's state.
pub struct Session {
    settings: Arc<Settings>,
    lookup: SharedLookup,
    /// Whether header values arrive with their leading space (negotiated).
    leading_space: bool,
    /// The stages the MTA sends without waiting for a reply (negotiated): each saves a round
    /// trip per connection, per header field or per body chunk.
    noreply: ProtoOpts,
    envelope: Envelope,
    message: Option<MessageFilter>,
}

/// The stages hanko never answers with anything but "continue": it decides at the end of
/// the message, so the MTA need not wait for these replies.
const NOREPLY: ProtoOpts = ProtoOpts::NOREPLY_CONNECT
    .union(ProtoOpts::NOREPLY_HELO)
    .union(ProtoOpts::NOREPLY_MAIL)
    .union(ProtoOpts::NOREPLY_HEADER)
    .union(ProtoOpts::NOREPLY_EOH)
    .union(ProtoOpts::NOREPLY_BODY);

/// "Continue" for a stage: no reply at all when the MTA agreed not to wait for one.
fn continue_after(session: Option<&Session>, stage: ProtoOpts) -> Status {
    match session {
        Some(session) if session.noreply.contains(stage) => Status::Noreply,
        _ => Status::Continue,
    }
}

impl Session {
    fn fallback_status(&self) -> Status {
        match self.settings.file.on_error {
            Fallback::Accept => Status::Accept,
            Fallback::Tempfail => Status::Tempfail,
        }
    }
}

fn macro_value(macros: &indymilter::Macros, name: &str) -> Option<String> {
    let name = CString::new(name).ok()?;
    macros
        .get(&name)
        .map(|v: &CStr| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

/// The callbacks, over `shared`; verified messages' evaluations go to `recorder`.
pub fn callbacks(
    shared: Arc<Shared>,
    recorder: Option<Arc<crate::recorder::Recorder>>,
) -> Callbacks<Session> {
    Callbacks::new()
        .on_negotiate(move |cx: &mut NegotiateContext<Session>, actions, opts| {
            let shared = shared.clone();
            Box::pin(async move {
                let wanted = Actions::ADD_HEADER | Actions::CHANGE_HEADER | Actions::QUARANTINE;
                cx.requested_actions = wanted & actions;
                // Header values with their leading space, so that `simple` canonicalization
                // sees the bytes of the message; and no callbacks hanko does not use.
                let useful = ProtoOpts::LEADING_SPACE
                    | ProtoOpts::NO_RCPT
                    | ProtoOpts::NO_DATA
                    | ProtoOpts::NO_UNKNOWN
                    | NOREPLY;
                cx.requested_opts = useful & opts;
                let macros = [
                    (MacroStage::Mail, "{auth_authen}"),
                    (MacroStage::Eom, "i"),
                    (MacroStage::Eoh, "i"),
                ];
                for (stage, names) in macros {
                    if let Ok(names) = CString::new(names) {
                        cx.requested_macros.insert(stage, names);
                    }
                }
                let (settings, lookup) = shared.current();
                cx.data = Some(Session {
                    settings,
                    lookup,
                    leading_space: opts.contains(ProtoOpts::LEADING_SPACE),
                    noreply: NOREPLY & opts,
                    envelope: Envelope::default(),
                    message: None,
                });
                Status::Continue
            })
        })
        .on_connect(|cx: &mut Context<Session>, _hostname, socket| {
            Box::pin(async move {
                if let Some(session) = &mut cx.data {
                    session.envelope.client_ip = match socket {
                        SocketInfo::Inet(addr) => Some(addr.ip()),
                        SocketInfo::Unix(_) | SocketInfo::Unknown => None,
                    };
                }
                continue_after(cx.data.as_ref(), ProtoOpts::NOREPLY_CONNECT)
            })
        })
        .on_helo(|cx: &mut Context<Session>, name| {
            Box::pin(async move {
                if let Some(session) = &mut cx.data {
                    session.envelope.helo = name.to_string_lossy().into_owned();
                }
                continue_after(cx.data.as_ref(), ProtoOpts::NOREPLY_HELO)
            })
        })
        .on_mail(|cx: &mut Context<Session>, args| {
            Box::pin(async move {
                let authenticated = macro_value(&cx.macros, "{auth_authen}").is_some();
                let Some(session) = &mut cx.data else {
                    return Status::Continue;
                };
                let sender = args
                    .first()
                    .map(|a| a.to_string_lossy().into_owned())
                    .unwrap_or_default();
                session.envelope.mail_from = sender
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string();
                session.envelope.authenticated = authenticated;
                session.message = Some(MessageFilter::new(
                    session.settings.clone(),
                    session.lookup.clone(),
                    session.envelope.clone(),
                ));
                continue_after(Some(session), ProtoOpts::NOREPLY_MAIL)
            })
        })
        .on_header(|cx: &mut Context<Session>, name, value| {
            Box::pin(async move {
                if let Some(session) = &mut cx.data {
                    let leading_space = session.leading_space;
                    if let Some(message) = &mut session.message {
                        if leading_space {
                            message.header(name.as_bytes(), value.as_bytes());
                        } else {
                            // Without the negotiated option the space after the colon is
                            // gone; put back the usual single space.
                            let mut spaced = b" ".to_vec();
                            spaced.extend_from_slice(value.as_bytes());
                            message.header(name.as_bytes(), &spaced);
                        }
                    }
                }
                continue_after(cx.data.as_ref(), ProtoOpts::NOREPLY_HEADER)
            })
        })
        .on_eoh(|cx: &mut Context<Session>| {
            Box::pin(async move {
                if let Some(message) = cx.data.as_mut().and_then(|s| s.message.as_mut()) {
                    message.end_of_headers();
                }
                continue_after(cx.data.as_ref(), ProtoOpts::NOREPLY_EOH)
            })
        })
        .on_body(|cx: &mut Context<Session>, chunk| {
            Box::pin(async move {
                if let Some(message) = cx.data.as_mut().and_then(|s| s.message.as_mut()) {
                    message.body(&chunk);
                }
                continue_after(cx.data.as_ref(), ProtoOpts::NOREPLY_BODY)
            })
        })
        .on_eom(move |cx: &mut EomContext<Session>| {
            let recorder = recorder.clone();
            Box::pin(async move {
                let queue_id = macro_value(&cx.macros, "i").unwrap_or_else(|| "-".into());
                let Some(session) = &mut cx.data else {
                    return Status::Continue;
                };
                let Some(message) = session.message.take() else {
                    return Status::Continue;
                };
                let fallback = session.fallback_status();
                let mut decision = message.end_of_message(crate::now()).await;
                if let Some(recorder) = &recorder {
                    recorder.record(std::mem::take(&mut decision.evaluations));
                }
                match apply(cx, &decision).await {
                    Ok(status) => {
                        tracing::info!(queue_id = %queue_id, action = ?decision.action, "{}", decision.summary);
                        status
                    }
                    Err(why) => {
                        tracing::warn!(queue_id = %queue_id, "{}; could not apply the result: {why}", decision.summary);
                        fallback
                    }
                }
            })
        })
        .on_abort(|cx: &mut Context<Session>| {
            Box::pin(async move {
                if let Some(session) = &mut cx.data {
                    session.message = None;
                }
                Status::Continue
            })
        })
}

/// Carries out a decision: header changes first, then the reply. A refused message (reject or
/// tempfail) is not delivered, so its header changes are not sent.
async fn apply(cx: &mut EomContext<Session>, decision: &Decision) -> Result<Status, String> {
    let delivered = matches!(decision.action, Action::Accept | Action::Quarantine(_));
    for (name, index) in decision.remove.iter().filter(|_| delivered) {
        let index = i32::try_from(*index).map_err(|e| e.to_string())?;
        cx.actions
            .change_header(name.as_str(), index, None::<&str>)
            .await
            .map_err(|e| format!("removing {name} #{index}: {e}"))?;
    }
    for (position, (name, value)) in decision.insert.iter().filter(|_| delivered).enumerate() {
        let position = i32::try_from(position).map_err(|e| e.to_string())?;
        cx.actions
            .insert_header(position, name.as_str(), value.as_str())
            .await
            .map_err(|e| format!("adding {name}: {e}"))?;
    }
    Ok(match &decision.action {
        Action::Accept => Status::Continue,
        Action::Tempfail => Status::Tempfail,
        Action::Quarantine(reason) => {
            cx.actions
                .quarantine(reason.as_str())
                .await
                .map_err(|e| format!("quarantine: {e}"))?;
            Status::Continue
        }
        Action::Reject { code, status, text } => {
            cx.reply
                .set_error_reply(code, Some(status.as_str()), [text.as_str()])
                .map_err(|e| format!("reply {code} {status}: {e}"))?;
            Status::Reject
        }
    })
}
