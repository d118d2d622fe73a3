//! Tape's engine: the deterministic core of an event-sourced backtester.
//!
//! Read first: [`event::Event`] (the vocabulary), [`core::Core`] (the single-threaded loop
//! that folds inputs into derived events) and [`ledger`] (the append-only, hash-chained file
//! every event goes to).
//!
//! # Invariants
//! - The core is one thread and reads no clock, no environment and no unseeded randomness
//!   (`clippy.toml` bans them); the same inputs give the same bytes on any machine.
//! - Money, prices and quantities are fixed-point integers ([`fixed`]); arithmetic never wraps.
//! - A strategy sees only the past: [`market::MarketView`] holds what is known at `now`, and an
//!   order decided on a bar fills no earlier than that symbol's next bar.
//! - This crate depends on no other crate of the workspace.

/// The single-threaded loop that folds inputs into derived events.
pub mod core;
/// The vocabulary: events, kinds, payloads, reasons.
pub mod event;
/// Pending orders and how they fill on bars.
pub mod execution;
/// Fixed-point prices, quantities and money.
pub mod fixed;
/// The append-only, checksummed, hash-chained ledger file.
pub mod ledger;
/// What a strategy may see: the market as known at `now`.
pub mod market;
/// Cash, positions, profit and loss, and the accounting identity.
pub mod portfolio;
/// Pre-trade risk limits and the circuit breaker.
pub mod risk;
/// Seeded ChaCha randomness and pinned mappings to floats.
pub mod rng;
/// The engine's own decision rules (their names and the numbers they record).
pub mod rules;
/// Merges input sources into the one order the core sees.
pub mod sequencer;
/// The strategy interface.
pub mod strategy;
/// Input sources on their own thread, delivered in order.
pub mod threaded;
/// Timestamps in nanoseconds UTC and civil dates.
pub mod time;
