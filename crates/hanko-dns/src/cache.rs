//! The resolver's one cache: every answer hanko asked for, positive or negative, kept by
//! question until its time to live runs out, and each question on the wire asked once.
//!
//! - **Positive answers** are kept for the smallest TTL of their records (RFC 1035 §3.2.1;
//!   RFC 2181 §5.2 asks for one TTL per record set). A TXT answer is kept as shared
//!   [`TxtRecords`](hanko::dns::TxtRecords), so what the protocols parse from a record (an
//!   SPF policy, a DKIM key) is kept beside it for as long, and is gone with it.
//! - **Negative answers** (NXDOMAIN, and a name without records of the asked type) are kept
//!   for the SOA's negative TTL, the smaller of the SOA record's TTL and its MINIMUM field
//!   (RFC 2308 §5), at most [`MAX_NEGATIVE_TTL`]; an answer without an SOA for
//!   [`ResolverSettings::negative_ttl`](crate::ResolverSettings::negative_ttl).
//! - **Failures** that may go away (timeouts, SERVFAIL) are not kept: the callers waiting on
//!   the query that failed share its answer, and the next caller asks again.
//! - **In flight**: a question asked while the same question is already on the wire waits
//!   for that answer instead of asking again, so a burst of messages from one domain makes
//!   one query per name.
//!
//! Bounded by entry count: when the cache is full, answers past their TTL go first; if it is
//! still full, every settled answer goes (questions on the wire stay, so the bound can be
//! passed by as many questions as are in flight at once).

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hanko::dns::{DnsError, Mx, TxtAnswer};
use tokio::sync::OnceCell;

/// The longest a negative answer is kept, whatever its SOA says: three hours, the upper end
/// of what RFC 2308 §5 found to work well.
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(3 * 3600);

/// The record type a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Txt,
    A,
    Aaaa,
    Mx,
    Ptr,
    Cname,
}

/// An answer with records, of the type its question asked for.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Txt(TxtAnswer),
    A(Vec<Ipv4Addr>),
    Aaaa(Vec<Ipv6Addr>),
    Mx(Vec<Mx>),
    /// PTR and CNAME targets, host names without the trailing dot.
    Names(Vec<String>),
}

/// What a question got, and until when it may be used.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) answer: Result<Answer, DnsError>,
    pub(crate) valid_until: Instant,
}

impl Entry {
    fn is_valid(&self, now: Instant) -> bool {
        self.valid_until > now
    }
}

/// A question: its type and its name (lower case, no trailing dot).
type Question = (Kind, String);

/// One question's place in the cache: empty while the question is on the wire.
type Slot = Arc<OnceCell<Entry>>;

/// The answers kept (see the [module](self)). Shared by clones of a resolver.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    slots: Mutex<HashMap<Question, Slot>>,
    capacity: usize,
}

fn question(kind: Kind, name: &str) -> Question {
    (kind, name.trim_end_matches('.').to_ascii_lowercase())
}

impl AnswerCache {
    /// A cache of at most `capacity` answers; 0 keeps none and joins no questions.
    pub(crate) fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            slots: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// A panic elsewhere while the lock was held leaves a map that is still whole (every
    /// change is one insert or retain), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, HashMap<Question, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer kept for the question, while it is valid.
    pub(crate) fn kept(&self, kind: Kind, name: &str) -> Option<Result<Answer, DnsError>> {
        if self.capacity == 0 {
            return None;
        }
        let slots = self.lock();
        let entry = slots.get(&question(kind, name))?.get()?;
        entry.is_valid(Instant::now()).then(|| entry.answer.clone())
    }

    /// The answer to the question: kept, or the answer of the same question already on the
    /// wire, or `fetch`'s (which is then kept for as long as it says).
    pub(crate) async fn answer<F, Fut>(
        &self,
        kind: Kind,
        name: &str,
        fetch: F,
    ) -> Result<Answer, DnsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Entry>,
    {
        if self.capacity == 0 {
            return fetch().await.answer;
        }
        let slot = {
            let now = Instant::now();
            let mut slots = self.lock();
            let question = question(kind, name);
            match slots.get(&question) {
                // Valid, or still on the wire.
                Some(slot) if slot.get().is_none_or(|entry| entry.is_valid(now)) => {
                    Arc::clone(slot)
                }
                _ => {
                    if slots.len() >= self.capacity {
                        make_room(&mut slots, self.capacity, now);
                    }
                    let slot = Slot::default();
                    slots.insert(question, Arc::clone(&slot));
                    slot
                }
            }
        };
        // The first caller fetches; callers arriving meanwhile wait for its answer. Should
        // the first caller be dropped mid-query (a deadline), the next waiter fetches.
        slot.get_or_init(fetch).await.answer.clone()
    }

    /// How many questions have a place (answers kept, and questions on the wire).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Drops answers past their TTL; if the cache is still full, every settled answer.
fn make_room(slots: &mut HashMap<Question, Slot>, capacity: usize, now: Instant) {
    slots.retain(|_, slot| slot.get().is_none_or(|entry| entry.is_valid(now)));
    if slots.len() >= capacity {
        slots.retain(|_, slot| slot.get().is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn entry(ips: &[[u8; 4]], ttl: Duration) -> Entry {
        Entry {
            answer: Ok(Answer::A(ips.iter().map(|&o| Ipv4Addr::from(o)).collect())),
            valid_until: Instant::now() + ttl,
        }
    }

    fn ips(answer: Result<Answer, DnsError>) -> Vec<Ipv4Addr> {
        match answer {
            Ok(Answer::A(ips)) => ips,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_are_kept_by_question_until_their_ttl() {
        let cache = AnswerCache::new(16);
        let fetched = AtomicUsize::new(0);
        let fetch = |ttl| {
            fetched.fetch_add(1, Ordering::Relaxed);
            async move { entry(&[[192, 0, 2, 1]], ttl) }
        };
        let long = Duration::from_secs(300);
        for name in ["mx.example.com", "MX.example.com.", "mx.EXAMPLE.com"] {
            let answer = cache.answer(Kind::A, name, || fetch(long)).await;
            assert_eq!(ips(answer), [Ipv4Addr::new(192, 0, 2, 1)]);
        }
        assert_eq!(
            fetched.load(Ordering::Relaxed),
            1,
            "one spelling, one question"
        );
        assert!(cache.kept(Kind::A, "mx.example.com").is_some());
        // Another type is another question.
        assert!(cache.kept(Kind::Aaaa, "mx.example.com").is_none());
        // An answer past its TTL is asked again.
        cache
            .answer(Kind::A, "brief.example.com", || fetch(Duration::ZERO))
            .await
            .unwrap();
        assert!(cache.kept(Kind::A, "brief.example.com").is_none());
        cache
            .answer(Kind::A, "brief.example.com", || fetch(long))
            .await
            .unwrap();
        assert_eq!(fetched.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_question_on_the_wire_is_asked_once() {
        let cache = AnswerCache::new(16);
        let fetched = AtomicUsize::new(0);
        let (release, released) = tokio::sync::watch::channel(false);
        let fetch = || {
            fetched.fetch_add(1, Ordering::Relaxed);
            let mut released = released.clone();
            async move {
                released.wait_for(|go| *go).await.unwrap();
                entry(&[[192, 0, 2, 9]], Duration::from_secs(60))
            }
        };
        let waiting: Vec<_> = (0..20)
            .map(|_| cache.answer(Kind::A, "burst.example.com", fetch))
            .collect();
        let all = async {
            let answers = futures_join(waiting).await;
            answers.into_iter().map(ips).collect::<Vec<_>>()
        };
        let (answers, ()) = tokio::join!(all, async {
            tokio::task::yield_now().await;
            release.send(true).unwrap();
        });
        assert_eq!(answers.len(), 20);
        assert!(answers.iter().all(|a| a == &[Ipv4Addr::new(192, 0, 2, 9)]));
        assert_eq!(fetched.load(Ordering::Relaxed), 1);
    }

    /// Polls every future to the end, concurrently, in one task.
    async fn futures_join<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
        let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        std::future::poll_fn(|context| {
            let mut pending = false;
            for (future, output) in futures.iter_mut().zip(&mut outputs) {
                if output.is_none() {
                    match future.as_mut().poll(context) {
                        std::task::Poll::Ready(value) => *output = Some(value),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().flatten().collect()
    }

    #[tokio::test]
    async fn failures_that_may_pass_are_not_kept() {
        let cache = AnswerCache::new(16);
        let failed = || async {
            Entry {
                answer: Err(DnsError::Timeout),
                valid_until: Instant::now(),
            }
        };
        assert_eq!(
            cache
                .answer(Kind::Txt, "slow.example.com", failed)
                .await
                .unwrap_err(),
            DnsError::Timeout
        );
        assert!(cache.kept(Kind::Txt, "slow.example.com").is_none());
        let answer = cache
            .answer(Kind::A, "slow.example.com", || async {
                entry(&[[192, 0, 2, 2]], Duration::from_secs(60))
            })
            .await;
        assert_eq!(ips(answer), [Ipv4Addr::new(192, 0, 2, 2)]);
    }

    #[tokio::test]
    async fn the_cache_keeps_at_most_its_capacity() {
        let cache = AnswerCache::new(4);
        for n in 0..50u8 {
            let name = format!("host{n}.example.com");
            cache
                .answer(Kind::A, &name, || async move {
                    entry(&[[192, 0, 2, n]], Duration::from_secs(300))
                })
                .await
                .unwrap();
            assert!(cache.len() <= 4, "{} answers kept", cache.len());
            assert!(cache.kept(Kind::A, &name).is_some(), "the newest is kept");
        }
        // A cache of nothing answers every question by asking.
        let none = AnswerCache::new(0);
        let answer = none
            .answer(Kind::A, "x.example.com", || async {
                entry(&[[192, 0, 2, 3]], Duration::from_secs(300))
            })
            .await;
        assert_eq!(ips(answer), [Ipv4Addr::new(192, 0, 2, 3)]);
        assert_eq!(none.len(), 0);
        assert!(none.kept(Kind::A, "x.example.com").is_none());
    }
}
