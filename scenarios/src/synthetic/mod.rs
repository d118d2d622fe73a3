//! Seeded synthetic markets.

mod gbm;

pub use gbm::GbmMarket;
