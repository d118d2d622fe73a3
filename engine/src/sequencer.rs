//! The sequencer: merges input sources into the one order the core sees.
//!
//! Order: by `ts`, then source priority (the source's index), then symbol id, then the order
//! the source produced them in. The order never depends on how fast a source delivers, so a
//! replay, a rerun, or a run fed by threads all see the same sequence.
//!
//! A source must deliver bars in non-decreasing `ts`; the sequencer buffers one timestamp's
//! group per source (bounded by the number of symbols), never a whole source.

use crate::event::{Bar, DataNote, Feature, SymbolId};
use crate::time::Ts;

/// A bar with the time it closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedBar {
    /// Close time.
    pub ts: Ts,
    /// The bar.
    pub bar: Bar,
}

/// What a source delivers: a bar, or the data guard's note on one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SourcedInput {
    /// A bar.
    Bar(Bar),
    /// A note from the data guard: quarantined (the bar is dropped) or a warning (the bar
    /// follows).
    Data {
        /// Dropped rather than kept.
        quarantined: bool,
        /// What was found.
        note: DataNote,
    },
    /// A point-in-time feature value, at the time it became available.
    Feature(Feature),
}

/// An input with the time it became known: what the sequencer orders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimedInput {
    /// When it became known.
    pub ts: Ts,
    /// What it is.
    pub input: SourcedInput,
}

impl TimedInput {
    /// The symbol it is about.
    pub fn symbol(&self) -> SymbolId {
        match &self.input {
            SourcedInput::Bar(b) => b.symbol,
            SourcedInput::Data { note, .. } => note.symbol,
            SourcedInput::Feature(f) => f.symbol,
        }
    }

    /// The bar, if it is one.
    pub fn bar(&self) -> Option<&Bar> {
        match &self.input {
            SourcedInput::Bar(b) => Some(b),
            SourcedInput::Data { .. } | SourcedInput::Feature(_) => None,
        }
    }
}

impl From<TimedBar> for TimedInput {
    fn from(t: TimedBar) -> Self {
        Self {
            ts: t.ts,
            input: SourcedInput::Bar(t.bar),
        }
    }
}

/// Why the sequencer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError<E: std::error::Error + 'static> {
    /// A source's own error (a bad file, a bad row).
    #[error(transparent)]
    Source(E),
    /// A source went back in time.
    #[error(
        "source {source_index} delivered {ts} after {previous}: sources must be in time order"
    )]
    OutOfOrder {
        source_index: usize,
        ts: Ts,
        previous: Ts,
    },
}

type Source<'a, E> = Box<dyn Iterator<Item = Result<TimedInput, E>> + Send + 'a>;

struct Lane<'a, E> {
    source: Source<'a, E>,
    /// The next bar with a later ts than `group`, read ahead.
    lookahead: Option<TimedInput>,
    /// Bars of the lane's current timestamp, sorted by symbol then arrival, drained from the front.
    group: Vec<TimedInput>,
    next_in_group: usize,
    last_ts: Option<Ts>,
    done: bool,
}

/// Merges sources in the documented order.
pub struct Sequencer<'a, E> {
    lanes: Vec<Lane<'a, E>>,
}

impl<'a, E: std::error::Error + 'static> Sequencer<'a, E> {
    /// A sequencer over sources in priority order (index 0 first at equal `ts`).
    pub fn new(sources: Vec<Source<'a, E>>) -> Self {
        let lanes = sources
            .into_iter()
            .map(|source| Lane {
                source,
                lookahead: None,
                group: Vec::new(),
                next_in_group: 0,
                last_ts: None,
                done: false,
            })
            .collect();
        Self { lanes }
    }

    fn refill(&mut self, index: usize) -> Result<(), SequencerError<E>> {
        let lane = &mut self.lanes[index];
        if lane.next_in_group < lane.group.len() || lane.done {
            return Ok(());
        }
        lane.group.clear();
        lane.next_in_group = 0;
        if let Some(first) = lane.lookahead.take() {
            lane.group.push(first);
        }
        loop {
            match lane.source.next() {
                None => {
                    lane.done = lane.group.is_empty();
                    break;
                }
                Some(Err(e)) => return Err(SequencerError::Source(e)),
                Some(Ok(item)) => {
                    if let Some(prev) = lane.last_ts {
                        if item.ts < prev {
                            return Err(SequencerError::OutOfOrder {
                                source_index: index,
                                ts: item.ts,
                                previous: prev,
                            });
                        }
                    }
                    lane.last_ts = Some(item.ts);
                    match lane.group.first() {
                        Some(head) if head.ts != item.ts => {
                            lane.lookahead = Some(item);
                            break;
                        }
                        _ => lane.group.push(item),
                    }
                }
            }
        }
        if lane.group.is_empty() && lane.lookahead.is_none() {
            lane.done = true;
        }
        // Stable: equal symbols keep arrival order.
        if !lane.group.is_sorted_by_key(TimedInput::symbol) {
            lane.group.sort_by_key(TimedInput::symbol);
        }
        Ok(())
    }
}

impl<E: std::error::Error + 'static> Iterator for Sequencer<'_, E> {
    type Item = Result<TimedInput, SequencerError<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(Ts, usize)> = None;
        for index in 0..self.lanes.len() {
            if let Err(e) = self.refill(index) {
                return Some(Err(e));
            }
            let lane = &self.lanes[index];
            if let Some(head) = lane.group.get(lane.next_in_group) {
                if best.is_none_or(|(ts, _)| head.ts < ts) {
                    best = Some((head.ts, index));
                }
            }
        }
        let (_, index) = best?;
        let lane = &mut self.lanes[index];
        let item = lane.group[lane.next_in_group];
        lane.next_in_group += 1;
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SymbolId;
    use crate::fixed::{Price, Quantity};

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    fn bar(symbol: u32, close: i64) -> Bar {
        let p = Price::from_raw(close).expect("positive");
        Bar::new(SymbolId(symbol), p, p, p, p, Quantity::ZERO).expect("consistent")
    }

    fn source(items: Vec<(i64, u32, i64)>) -> Source<'static, Never> {
        Box::new(items.into_iter().map(|(ts, s, c)| {
            Ok(TimedBar {
                ts: Ts(ts),
                bar: bar(s, c),
            }
            .into())
        }))
    }

    #[test]
    fn orders_by_time_then_priority_then_symbol_then_arrival() {
        let a = source(vec![(1, 2, 10), (1, 0, 11), (3, 1, 12)]);
        let b = source(vec![(1, 1, 20), (2, 0, 21), (3, 0, 22)]);
        let got: Vec<(i64, u32, i64)> = Sequencer::new(vec![a, b])
            .map(|r| r.expect("in order"))
            .map(|t| {
                let bar = t.bar().expect("bars only");
                (t.ts.0, bar.symbol.0, bar.close.raw())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 0, 11),
                (1, 2, 10),
                (1, 1, 20),
                (2, 0, 21),
                (3, 1, 12),
                (3, 0, 22)
            ]
        );
    }

    #[test]
    fn a_source_going_back_in_time_is_an_error() {
        let a = source(vec![(2, 0, 1), (1, 0, 2)]);
        let mut seq = Sequencer::new(vec![a]);
        assert!(matches!(
            seq.next(),
            Some(Err(SequencerError::OutOfOrder {
                source_index: 0,
                ..
            }))
        ));
    }
}
