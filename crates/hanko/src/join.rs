//! Waiting for several futures at once on whatever executor polls the caller (the library
//! has no runtime of its own): the receiver runs SPF, DKIM and DMARC policy discovery side by
//! side, and the verifier fetches every key of a message together, so that one slow DNS
//! server costs its own wait once, not once per step.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;

/// Runs two futures at once, returning both outputs.
pub(crate) async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_done = None;
    let mut b_done = None;
    std::future::poll_fn(move |cx| {
        if a_done.is_none() {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                a_done = Some(out);
            }
        }
        if b_done.is_none() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                b_done = Some(out);
            }
        }
        if a_done.is_some() && b_done.is_some() {
            if let (Some(a), Some(b)) = (a_done.take(), b_done.take()) {
                return Poll::Ready((a, b));
            }
        }
        Poll::Pending
    })
    .await
}

/// Runs every future at once, returning the outputs in the same order.
pub(crate) async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut all = true;
        for (future, out) in pending.iter_mut().zip(done.iter_mut()) {
            if out.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *out = Some(value),
                    Poll::Pending => all = false,
                }
            }
        }
        if all {
            Poll::Ready(done.iter_mut().filter_map(Option::take).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pending once, then ready with `value`: the first poll of each must happen before any
    /// is ready for them to overlap.
    async fn yield_then(value: usize, order: &std::sync::Mutex<Vec<usize>>) -> usize {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                order.lock().unwrap().push(value);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        value
    }

    #[test]
    fn every_future_is_started_before_any_is_awaited_to_its_end() {
        let order = std::sync::Mutex::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = runtime.block_on(join_all((0..5).map(|i| yield_then(i, &order)).collect()));
        assert_eq!(out, [0, 1, 2, 3, 4]);
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
        let empty: Vec<std::future::Ready<u8>> = Vec::new();
        assert!(runtime.block_on(join_all(empty)).is_empty());
        let (a, b) = runtime.block_on(join(yield_then(7, &order), yield_then(8, &order)));
        assert_eq!((a, b), (7, 8));
    }
}
