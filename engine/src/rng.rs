//! Seeded randomness: a ChaCha8 stream and our own pinned mappings from raw `u64`s to floats.
//!
//! The run header stores the full 32-byte seed. Independent streams (one per symbol, say)
//! come from ChaCha's 64-bit stream id, so adding a symbol never changes another's numbers.
//! The mappings below are ours, pinned by test vectors, so a crate upgrade that changes a
//! distribution's algorithm can never change a run.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The 32-byte seed for a user-facing `--seed N`: `N` little-endian, then 24 zero bytes.
pub fn seed_from_u64(n: u64) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    seed
}

/// A deterministic random stream.
#[derive(Clone, Debug)]
pub struct SeededRng {
    inner: ChaCha8Rng,
}

impl SeededRng {
    /// Stream `stream` of the ChaCha8 generator keyed by `seed`. (Eight rounds: the stream
    /// needs to be reproducible and well mixed, not secret, and eight rounds are 2.5× faster
    /// than twenty.)
    pub fn new(seed: [u8; 32], stream: u64) -> Self {
        let mut inner = ChaCha8Rng::from_seed(seed);
        inner.set_stream(stream);
        Self { inner }
    }

    /// The next raw 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `[0, 1)`, with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        unit_from_bits(self.next_u64())
    }

    /// Uniform in `(0, 1)`: never exactly 0, so safe under `ln`.
    pub fn open_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Two uniforms in `[0, 1)` from one word, 32 bits each (for noise that needs no more).
    pub fn unit_pair(&mut self) -> (f64, f64) {
        let x = self.next_u64();
        let scale = 1.0 / 4_294_967_296.0;
        ((x >> 32) as f64 * scale, (x & 0xFFFF_FFFF) as f64 * scale)
    }

    /// Two independent standard normal variates by Marsaglia's polar method: draw a point
    /// in the square `(−1, 1)²` from one word (32 bits per coordinate), reject it unless
    /// `0 < s = x² + y² < 1`, return `x·f, y·f` with `f = √(−2 ln s / s)`.
    pub fn normal_pair(&mut self) -> (f64, f64) {
        loop {
            let (a, b) = self.unit_pair();
            let x = 2.0 * a - 1.0;
            let y = 2.0 * b - 1.0;
            let s = x * x + y * y;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * libm::log(s) / s).sqrt();
                return (x * f, y * f);
            }
        }
    }

    /// Uniform integer in `[0, n)` by rejection (no modulo bias). `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let zone = u64::MAX - (u64::MAX % n) - 1;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return x % n;
            }
        }
    }
}

/// `[0, 1)` from the top 53 bits of a word.
pub fn unit_from_bits(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ChaCha20 stream and our mappings, pinned. If this fails, a dependency changed
    /// the numbers every synthetic market is built from: bump the engine version and the
    /// golden ledger together, deliberately.
    #[test]
    fn stream_and_mappings_are_pinned() {
        let mut rng = SeededRng::new(seed_from_u64(7), 0);
        let words: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        let mut rng = SeededRng::new(seed_from_u64(7), 0);
        assert_eq!(words, (0..3).map(|_| rng.next_u64()).collect::<Vec<_>>());
        assert_eq!(words, PINNED_WORDS, "ChaCha8 words for seed 7, stream 0");
        let mut rng = SeededRng::new(seed_from_u64(7), 1);
        assert_ne!(rng.next_u64(), PINNED_WORDS[0], "streams are independent");
        let mut rng = SeededRng::new(seed_from_u64(7), 0);
        let (z0, z1) = rng.normal_pair();
        assert_eq!((z0.to_bits(), z1.to_bits()), PINNED_NORMAL_BITS);
    }

    // Computed independently by a 30-line Python ChaCha (the RFC 7539 block function with 8
    // rounds, rand_chacha's 64-bit counter in words 12–13 and 64-bit stream id in words
    // 14–15) and Python's math module for the polar step.
    const PINNED_WORDS: [u64; 3] = [
        14_095_323_943_061_994_099,
        8_595_031_940_432_502_117,
        104_676_313_501_531_310,
    ];
    const PINNED_NORMAL_BITS: (u64, u64) = (4_602_888_076_276_854_050, 13_827_383_723_334_800_289); // 0.5232…, −0.6479…

    #[test]
    fn unit_covers_the_interval_ends() {
        assert_eq!(unit_from_bits(0), 0.0);
        assert!(unit_from_bits(u64::MAX) < 1.0);
    }

    #[test]
    fn normal_moments_are_standard() {
        let mut rng = SeededRng::new(seed_from_u64(1), 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n / 2)
            .flat_map(|_| {
                let (a, b) = rng.normal_pair();
                [a, b]
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
    }

    #[test]
    fn below_stays_below() {
        let mut rng = SeededRng::new(seed_from_u64(3), 0);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[rng.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }
}
