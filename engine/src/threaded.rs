//! Runs an input source on its own thread, handing bars to the core in batches.
//!
//! Decoding or generating inputs is I/O-side work that may leave the core's thread
//! (ARCHITECTURE.md, determinism rule 1): the source's items arrive in exactly the order it
//! produced them, so the sequence the core sees cannot depend on thread timing. Batches are
//! recycled through a return channel, so the steady state allocates nothing.

use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};

/// Items per batch: large enough that a hand-off (~60 ns) is noise per item.
pub const BATCH: usize = 8_192;
const DEPTH: usize = 4;

/// An iterator whose items are produced by another thread, in order.
pub struct ThreadedSource<T: Send + 'static> {
    batches: Receiver<Vec<T>>,
    recycle: Sender<Vec<T>>,
    current: std::vec::IntoIter<T>,
    producer: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> ThreadedSource<T> {
    /// Moves `source` to a new thread and reads it from there.
    pub fn spawn<I>(source: I) -> std::io::Result<Self>
    where
        I: Iterator<Item = T> + Send + 'static,
    {
        let (tx, batches) = bounded::<Vec<T>>(DEPTH);
        let (recycle, recycled) = bounded::<Vec<T>>(DEPTH + 2);
        let producer = std::thread::Builder::new()
            .name("tape-source".to_string())
            .spawn(move || {
                let mut source = source;
                loop {
                    let mut batch = recycled
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    batch.clear();
                    batch.extend(source.by_ref().take(BATCH));
                    let last = batch.len() < BATCH;
                    if batch.is_empty() || tx.send(batch).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(Self {
            batches,
            recycle,
            current: Vec::new().into_iter(),
            producer: Some(producer),
        })
    }
}

impl<T: Send + 'static> Iterator for ThreadedSource<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            let batch = self.batches.recv().ok()?;
            let spent = std::mem::replace(&mut self.current, batch.into_iter());
            // Hand the emptied allocation back (an `IntoIter` keeps its buffer).
            let mut buffer: Vec<T> = spent.collect();
            buffer.clear();
            let _ = self.recycle.try_send(buffer);
        }
    }
}

impl<T: Send + 'static> Drop for ThreadedSource<T> {
    fn drop(&mut self) {
        // Unblock the producer (its sends fail once the receiver is gone), then wait for it.
        let (_, dead) = bounded(0);
        self.batches = dead;
        if let Some(p) = self.producer.take() {
            let _ = p.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_across_batches() {
        let n = BATCH * 3 + 17;
        let got: Vec<usize> = ThreadedSource::spawn(0..n)
            .expect("thread starts")
            .collect();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_early_stops_the_producer() {
        let mut source = ThreadedSource::spawn(0..usize::MAX).expect("thread starts");
        assert_eq!(source.next(), Some(0));
        drop(source); // must not hang
    }
}
