//! Where Tape's inputs come from: scenario files and seeded synthetic markets.
//!
//! Read first: [`Scenario`] (a run described completely, parsed from TOML) and
//! [`synthetic::GbmMarket`] (the seeded market it generates).
//!
//! # Invariants
//! - Same scenario and seed, same bars, byte for byte, on any machine: randomness comes only
//!   from the run's ChaCha stream, and transcendental maths from the pinned `libm`.
//! - Missing bars are missing: no generator pads or fills.

/// Built-in scenarios, embedded in the binary.
pub mod builtin;
/// Calendars: which bar times exist.
pub mod calendar;
/// The canonical TOML form of a configuration.
pub mod canonical;
/// Loaders for users' data files and the data guard.
pub mod loader;
mod scenario;
/// Seeded synthetic markets.
pub mod synthetic;

pub use scenario::{
    AccountSpec, BarInterval, BreakerResetSpec, CostSpec, DaysSpec, ExecutionSpec, FillSpec,
    GbmKind, GbmSpec, Market, RiskSpec, Scenario, ScenarioError,
};
