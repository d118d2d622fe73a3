//! Geometric Brownian motion, one independent path per symbol.
//!
//! Per bar, with `dt = 1 / bars_per_year`, `s = volatility × √dt`:
//! - `close = prev_close × exp((drift − volatility²/2) dt + s z)`, `z` standard normal;
//! - `open = prev_close × (1 + 0.2 s (2u₁ − 1))`: a small gap from the previous close;
//! - `high = max(open, close) × (1 + 0.5 s u₂)`, `low = min(open, close) × (1 − 0.5 s u₃)`;
//! - `volume = mean × (0.5 + u₄)`, whole units.
//!
//! Every price rounded to the tick grid (at least one tick), so `low ≤ open, close ≤ high`.
//!
//! Options, each off by default (and then drawing nothing, so a market without them keeps its
//! streams): market-wide volatility **regimes** (a Markov chain over states with their own
//! drift and volatility, stepped once per bar time from stream 0), **jumps** (with probability
//! `jump_probability` a bar's log return gains `jump_mean + jump_volatility × z`), and trading
//! **halts** (with probability `halt_probability` a symbol's next `halt_bars` bars are
//! missing; its path moves on, so trading resumes with a gap).
//!
//! Symbol `i` draws from ChaCha stream `i + 1` of the run seed, so symbols are independent
//! and adding one never changes another. Normals come in polar-method pairs; the uniforms
//! `u₁…u₄` take 32 bits each, two per word.

use std::convert::Infallible;

use tape_engine::event::{Bar, SymbolId};
use tape_engine::fixed::{Price, Quantity, PRICE_SCALE};
use tape_engine::rng::SeededRng;
use tape_engine::sequencer::TimedBar;
use tape_engine::time::Ts;

use crate::calendar::Calendar;
use crate::scenario::GbmSpec;

struct Path {
    rng: SeededRng,
    close: f64,
    spare_normal: Option<f64>,
    /// Bars left in a trading halt (its bars are generated, then not delivered).
    halted: u32,
}

impl Path {
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let (z, spare) = self.rng.normal_pair();
        self.spare_normal = Some(spare);
        z
    }
}

/// The stream id of the market factor (symbols use 1…N, regimes 0).
const FACTOR_STREAM: u64 = u64::MAX;

/// The per-bar drift and volatility steps of one regime.
#[derive(Clone, Copy, Debug)]
struct Steps {
    drift: f64,
    vol: f64,
}

/// The market-wide regime chain, stepped once per bar time from stream 0 of the seed.
struct Regimes {
    rng: SeededRng,
    steps: Vec<Steps>,
    transition: Vec<Vec<f64>>,
    state: usize,
}

/// A seeded GBM market: an iterator of bars in time order, symbols in id order at each time.
pub struct GbmMarket {
    paths: Vec<Path>,
    times: Box<dyn Iterator<Item = Ts> + Send>,
    now: Option<Ts>,
    next_symbol: usize,
    steps: Steps,
    regimes: Option<Regimes>,
    /// The market factor: its stream and this bar time's draw.
    factor: Option<(SeededRng, f64)>,
    /// Each symbol's loading ρ on the market factor.
    loadings: Vec<f64>,
    jump: (f64, f64, f64),
    halt: (f64, u32),
    /// The calendar, for where a minute falls in its session (volume smile, overnight gap).
    calendar: Calendar,
    /// Standard deviation of the log gap between sessions (0 = none).
    overnight_step: f64,
    volume_smile: f64,
    tick_raw: i64,
    volume_mean: f64,
    /// After this time, draw from another seed: a different future on the same past.
    fork: Option<(Ts, [u8; 32])>,
}

impl GbmMarket {
    /// A market for `spec` on `calendar`, from the run seed.
    pub fn new(spec: &GbmSpec, calendar: Calendar, seed: [u8; 32]) -> Self {
        let dt = 1.0 / calendar.bars_per_year();
        let steps = |drift: f64, vol: f64| Steps {
            drift: (drift - 0.5 * vol * vol) * dt,
            vol: vol * dt.sqrt(),
        };
        let [lo, hi] = spec.initial_price;
        let paths = (0..spec.symbols as u64)
            .map(|i| {
                let mut rng = SeededRng::new(seed, i + 1);
                let close = lo + (hi - lo) * rng.unit();
                Path {
                    rng,
                    close,
                    spare_normal: None,
                    halted: 0,
                }
            })
            .collect();
        Self {
            paths,
            times: Box::new(calendar.clone().times(spec.bars)),
            now: None,
            next_symbol: 0,
            // With regimes the states' own steps apply (validation leaves these unset).
            steps: steps(spec.drift.unwrap_or(0.0), spec.volatility.unwrap_or(0.0)),
            regimes: spec.regimes.as_ref().map(|r| Regimes {
                rng: SeededRng::new(seed, 0),
                steps: r
                    .drift
                    .iter()
                    .zip(&r.volatility)
                    .map(|(&d, &v)| steps(d, v))
                    .collect(),
                transition: r.transition.clone(),
                state: r.start,
            }),
            factor: (spec.factor_loading > 0.0 || spec.loadings.iter().any(|l| *l > 0.0))
                .then(|| (SeededRng::new(seed, FACTOR_STREAM), 0.0)),
            loadings: if spec.loadings.is_empty() {
                vec![spec.factor_loading; spec.symbols as usize]
            } else {
                spec.loadings.clone()
            },
            jump: (spec.jump_probability, spec.jump_mean, spec.jump_volatility),
            halt: (spec.halt_probability, spec.halt_bars),
            calendar,
            volume_smile: spec.volume_smile,
            overnight_step: spec.overnight_volatility / 252f64.sqrt(),
            tick_raw: ((spec.tick_size * PRICE_SCALE as f64).round() as i64).max(1),
            volume_mean: spec.volume,
            fork: None,
        }
    }

    /// The same market up to and including `cut`, then a differently seeded future: every
    /// symbol's stream restarts from `future_seed` after `cut`, from the last price. This is
    /// how the look-ahead check builds "the same past, another future".
    pub fn with_future_after(mut self, cut: Ts, future_seed: [u8; 32]) -> Self {
        self.fork = Some((cut, future_seed));
        self
    }

    fn to_price(&self, value: f64) -> Price {
        // Positive, so adding ½ and truncating rounds half up; at least one tick.
        let ticks = ((value * PRICE_SCALE as f64 / self.tick_raw as f64 + 0.5) as i64).max(1);
        Price::from_raw(ticks * self.tick_raw).expect("at least one tick is positive")
    }

    /// The regime in force at the current bar time, if the market has regimes.
    pub fn regime(&self) -> Option<usize> {
        self.regimes.as_ref().map(|r| r.state)
    }

    /// Moves the regime chain one bar time on (the first bar time keeps the start state).
    fn step_regime(&mut self, first: bool) {
        if let Some(r) = &mut self.regimes {
            if !first {
                let u = r.rng.unit();
                let row = &r.transition[r.state];
                let mut cumulative = 0.0;
                let mut next = row.len() - 1;
                for (j, p) in row.iter().enumerate() {
                    cumulative += p;
                    if u < cumulative {
                        next = j;
                        break;
                    }
                }
                r.state = next;
            }
            self.steps = r.steps[r.state];
        }
    }

    fn bar(&mut self, symbol: usize, ts: Ts) -> Bar {
        // A U-shaped intraday volume: 1 + smile at the session's ends, 1 in its middle.
        let position = self.calendar.session_position(ts);
        let smile = match position {
            Some(x) if self.volume_smile > 0.0 => {
                1.0 + self.volume_smile * (2.0 * x - 1.0) * (2.0 * x - 1.0)
            }
            _ => 1.0,
        };
        let (
            Steps {
                drift: drift_step,
                vol: vol_step,
            },
            volume_mean,
        ) = (self.steps, self.volume_mean);
        let (jump_p, jump_mean, jump_vol) = self.jump;
        let overnight = self.overnight_step;
        let path = &mut self.paths[symbol];
        let mut prev = path.close;
        // A session's first minute opens after the night: the price gaps from the last close
        // (drawn only when the gap is on, so a market without it keeps its streams).
        if overnight > 0.0 && position == Some(0.0) {
            prev *= libm::exp(overnight * path.normal());
        }
        let own = path.normal();
        // Shared shock first: with a factor, ρ·market + √(1−ρ²)·own keeps unit variance.
        let z = match self.factor {
            Some((_, market)) => {
                let rho = self.loadings[symbol];
                rho * market + (1.0 - rho * rho).sqrt() * own
            }
            None => own,
        };
        let mut log_return = drift_step + vol_step * z;
        // Extra draws only when jumps are on, so a market without them keeps its streams.
        if jump_p > 0.0 && path.rng.unit() < jump_p {
            log_return += jump_mean + jump_vol * path.normal();
        }
        let close = prev * libm::exp(log_return);
        let (u1, u2) = path.rng.unit_pair();
        let (u3, u4) = path.rng.unit_pair();
        let open = prev * (1.0 + 0.2 * vol_step * (2.0 * u1 - 1.0));
        let high = open.max(close) * (1.0 + 0.5 * vol_step * u2);
        let low = open.min(close) * (1.0 - 0.5 * vol_step * u3);
        // Non-negative, so adding ½ and truncating rounds half up.
        let volume = (volume_mean * smile * (0.5 + u4) + 0.5) as i64 as f64;
        let (open, high, low, close) = (
            self.to_price(open),
            self.to_price(high),
            self.to_price(low),
            self.to_price(close),
        );
        self.paths[symbol].close = close.to_f64();
        Bar::new(
            SymbolId(symbol as u32),
            open,
            high,
            low,
            close,
            Quantity::from_f64(volume).expect("volume is validated below 1e12"),
        )
        .expect("rounding is monotone, so low <= open, close <= high")
    }
}

impl Iterator for GbmMarket {
    type Item = Result<TimedBar, Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.now.is_none() || self.next_symbol == self.paths.len() {
                let first = self.now.is_none();
                let now = self.times.next()?;
                self.now = Some(now);
                self.next_symbol = 0;
                if let Some((cut, seed)) = self.fork {
                    if now > cut {
                        for (i, path) in self.paths.iter_mut().enumerate() {
                            path.rng = SeededRng::new(seed, i as u64 + 1);
                            path.spare_normal = None;
                        }
                        if let Some(r) = &mut self.regimes {
                            r.rng = SeededRng::new(seed, 0);
                        }
                        if let Some((rng, _)) = &mut self.factor {
                            *rng = SeededRng::new(seed, FACTOR_STREAM);
                        }
                        self.fork = None;
                    }
                }
                self.step_regime(first);
                if let Some((rng, market)) = &mut self.factor {
                    *market = rng.normal_pair().0;
                }
            }
            let symbol = self.next_symbol;
            self.next_symbol += 1;
            let ts = self.now.expect("set above");
            let bar = self.bar(symbol, ts);
            // A halt: the path moves on (so trading resumes with a gap), its bars are missing.
            let (halt_p, halt_bars) = self.halt;
            let path = &mut self.paths[symbol];
            if path.halted > 0 {
                path.halted -= 1;
                continue;
            }
            if halt_p > 0.0 && path.rng.unit() < halt_p {
                path.halted = halt_bars - 1;
                continue;
            }
            return Some(Ok(TimedBar { ts, bar }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::BarInterval;

    fn spec(symbols: u32, bars: u64, bar: BarInterval) -> GbmSpec {
        GbmSpec {
            kind: crate::scenario::GbmKind::Gbm,
            symbols,
            symbol_prefix: "S".to_string(),
            names: Vec::new(),
            start: "2020-01-01".to_string(),
            bar,
            bars,
            close_time: "21:00".to_string(),
            drift: Some(0.1),
            volatility: Some(0.3),
            initial_price: [50.0, 150.0],
            tick_size: 0.01,
            volume: 1e6,
            regimes: None,
            jump_probability: 0.0,
            jump_mean: 0.0,
            jump_volatility: 0.0,
            halt_probability: 0.0,
            halt_bars: 0,
            days: crate::scenario::DaysSpec::Weekdays,
            holidays: Vec::new(),
            session: None,
            volume_smile: 0.0,
            factor_loading: 0.0,
            loadings: Vec::new(),
            overnight_volatility: 0.0,
        }
    }

    fn market(symbols: u32, bars: u64, seed: u64) -> Vec<TimedBar> {
        let s = spec(symbols, bars, BarInterval::Day);
        let cal = Calendar::Weekdays {
            first_day: Ts::from_date(2020, 1, 1),
            close_offset_ns: 0,
        };
        GbmMarket::new(&s, cal, tape_engine::rng::seed_from_u64(seed))
            .map(|r| r.expect("infallible"))
            .collect()
    }

    #[test]
    fn same_seed_same_bars_other_seed_other_bars() {
        assert_eq!(market(3, 50, 7), market(3, 50, 7));
        assert_ne!(market(3, 50, 7), market(3, 50, 8));
    }

    #[test]
    fn a_forked_future_keeps_the_past_and_changes_the_future() {
        let s = spec(2, 60, BarInterval::Day);
        let cal = Calendar::Weekdays {
            first_day: Ts::from_date(2020, 1, 1),
            close_offset_ns: 0,
        };
        let seed = tape_engine::rng::seed_from_u64(7);
        let base: Vec<TimedBar> = GbmMarket::new(&s, cal.clone(), seed)
            .map(|r| r.expect("infallible"))
            .collect();
        let cut = base[40].ts;
        let forked: Vec<TimedBar> = GbmMarket::new(&s, cal, seed)
            .with_future_after(cut, tape_engine::rng::seed_from_u64(99))
            .map(|r| r.expect("infallible"))
            .collect();
        assert_eq!(base.len(), forked.len());
        for (a, b) in base.iter().zip(&forked) {
            if a.ts <= cut {
                assert_eq!(a, b, "the past is untouched");
            }
        }
        assert!(
            base.iter().zip(&forked).any(|(a, b)| a.ts > cut && a != b),
            "the future differs"
        );
    }

    fn daily_calendar() -> Calendar {
        Calendar::Weekdays {
            first_day: Ts::from_date(2020, 1, 1),
            close_offset_ns: 0,
        }
    }

    fn log_returns(bars: &[TimedBar]) -> Vec<f64> {
        bars.windows(2)
            .map(|w| libm::log(w[1].bar.close.to_f64() / w[0].bar.close.to_f64()))
            .collect()
    }

    /// The regime chain stays in a state with the probability on its transition matrix's
    /// diagonal (checked within 4 standard errors), and each state has its own volatility.
    #[test]
    fn regimes_persist_as_their_transition_matrix_says() {
        let mut s = spec(1, 60_000, BarInterval::Day);
        s.tick_size = 1e-6;
        s.regimes = Some(crate::scenario::RegimeSpec {
            names: vec!["calm".into(), "crisis".into()],
            drift: vec![0.05, -0.2],
            volatility: vec![0.1, 0.6],
            transition: vec![vec![0.98, 0.02], vec![0.1, 0.9]],
            start: 0,
        });
        s.drift = None;
        s.volatility = None;
        let mut market = GbmMarket::new(&s, daily_calendar(), tape_engine::rng::seed_from_u64(5));
        let mut states = Vec::new();
        let mut bars = Vec::new();
        while let Some(b) = market.next() {
            states.push(market.regime().expect("has regimes"));
            bars.push(b.expect("infallible"));
        }
        for (state, p) in [(0usize, 0.98f64), (1, 0.9)] {
            let from: Vec<usize> = states
                .windows(2)
                .filter(|w| w[0] == state)
                .map(|w| w[1])
                .collect();
            let stayed = from.iter().filter(|&&n| n == state).count() as f64 / from.len() as f64;
            let se = (p * (1.0 - p) / from.len() as f64).sqrt();
            assert!(
                (stayed - p).abs() < 4.0 * se,
                "state {state}: stayed {stayed}, expected {p} ± {se}"
            );
        }
        let rets = log_returns(&bars);
        let vol_in = |state: usize| {
            let r: Vec<f64> = rets
                .iter()
                .zip(&states[1..])
                .filter(|(_, &s)| s == state)
                .map(|(r, _)| *r)
                .collect();
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            (r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / r.len() as f64 * 260.89)
                .sqrt()
        };
        assert!(
            (vol_in(0) - 0.1).abs() < 0.02,
            "calm volatility {}",
            vol_in(0)
        );
        assert!(
            (vol_in(1) - 0.6).abs() < 0.08,
            "crisis volatility {}",
            vol_in(1)
        );
    }

    #[test]
    fn jumps_fatten_the_tails() {
        let kurtosis = |jump_probability: f64| {
            let mut s = spec(1, 50_000, BarInterval::Day);
            s.tick_size = 1e-6;
            s.jump_probability = jump_probability;
            s.jump_mean = -0.05;
            s.jump_volatility = 0.05;
            let bars: Vec<TimedBar> =
                GbmMarket::new(&s, daily_calendar(), tape_engine::rng::seed_from_u64(9))
                    .map(|r| r.expect("infallible"))
                    .collect();
            let r = log_returns(&bars);
            let n = r.len() as f64;
            let mean = r.iter().sum::<f64>() / n;
            let var = r.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            r.iter()
                .map(|x| (x - mean) * (x - mean) * (x - mean) * (x - mean))
                .sum::<f64>()
                / n
                / (var * var)
        };
        let (plain, jumpy) = (kurtosis(0.0), kurtosis(0.02));
        assert!(
            (plain - 3.0).abs() < 0.2,
            "GBM log returns are normal: kurtosis {plain}"
        );
        assert!(jumpy > 5.0, "2% jump days give fat tails: kurtosis {jumpy}");
    }

    #[test]
    fn halts_leave_bars_missing_never_padded() {
        let mut s = spec(2, 20_000, BarInterval::Day);
        s.halt_probability = 0.002;
        s.halt_bars = 5;
        let bars: Vec<TimedBar> =
            GbmMarket::new(&s, daily_calendar(), tape_engine::rng::seed_from_u64(4))
                .map(|r| r.expect("infallible"))
                .collect();
        let missing = 2 * 20_000 - bars.len();
        // Each halt hides 5 bars; about 0.002 × 20 000 × 2 / (1 + 0.002 × 4) ≈ 79 halts start.
        let halts = missing as f64 / 5.0;
        assert!((halts - 79.4).abs() < 4.0 * 79.4f64.sqrt(), "{halts} halts");
        // No time repeats for a symbol and none is invented: every bar time is on the calendar.
        let times: std::collections::BTreeSet<i64> =
            daily_calendar().times(20_000).map(|t| t.0).collect();
        assert!(bars.iter().all(|b| times.contains(&b.ts.0)));
    }

    #[test]
    fn session_volume_smiles() {
        let mut s = spec(1, 390 * 200, BarInterval::Minute);
        s.volume_smile = 2.0;
        s.session = Some(crate::scenario::SessionSpec {
            open: "14:30".into(),
            close: "21:00".into(),
        });
        let cal = s.calendar().expect("a valid session");
        let bars: Vec<TimedBar> = GbmMarket::new(&s, cal, tape_engine::rng::seed_from_u64(2))
            .map(|r| r.expect("infallible"))
            .collect();
        let mean = |minutes: std::ops::Range<usize>| {
            let v: Vec<f64> = bars
                .iter()
                .enumerate()
                .filter(|(i, _)| minutes.contains(&(i % 390)))
                .map(|(_, b)| b.bar.volume.to_f64())
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let (open, middle) = (mean(0..5), mean(190..200));
        // At the ends 1 + 2 = 3 times the middle (within sampling noise of the uniform draw).
        assert!(
            (open / middle - 3.0).abs() < 0.3,
            "open {open}, middle {middle}"
        );
    }

    /// Two symbols loading 0.7 on the market factor correlate at 0.49 (within 4 standard
    /// errors of a sample correlation), and each keeps its configured volatility.
    #[test]
    fn a_factor_model_correlates_the_universe() {
        let mut s = spec(2, 40_000, BarInterval::Day);
        s.tick_size = 1e-6;
        s.factor_loading = 0.7;
        let bars: Vec<TimedBar> =
            GbmMarket::new(&s, daily_calendar(), tape_engine::rng::seed_from_u64(12))
                .map(|r| r.expect("infallible"))
                .collect();
        let series = |sym: u32| -> Vec<TimedBar> {
            bars.iter()
                .filter(|b| b.bar.symbol.0 == sym)
                .copied()
                .collect()
        };
        let (a, b) = (log_returns(&series(0)), log_returns(&series(1)));
        let n = a.len() as f64;
        let mean = |x: &[f64]| x.iter().sum::<f64>() / n;
        let (ma, mb) = (mean(&a), mean(&b));
        let cov = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>()
            / n;
        let var = |x: &[f64], m: f64| x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
        let corr = cov / (var(&a, ma) * var(&b, mb)).sqrt();
        let se = (1.0 - 0.49 * 0.49) / n.sqrt();
        assert!(
            (corr - 0.49).abs() < 4.0 * se,
            "correlation {corr}, expected 0.49 ± {se}"
        );
        let vol = (var(&a, ma) * 260.89).sqrt();
        assert!((vol - 0.3).abs() < 0.01, "volatility {vol}");
    }

    /// With an overnight gap, the first minute of each session moves far more from the last
    /// close than any minute inside a session does.
    #[test]
    fn sessions_open_with_an_overnight_gap() {
        let mut s = spec(1, 390 * 300, BarInterval::Minute);
        s.tick_size = 1e-6;
        s.volatility = Some(0.2);
        s.overnight_volatility = 0.2;
        s.session = Some(crate::scenario::SessionSpec {
            open: "14:30".into(),
            close: "21:00".into(),
        });
        let cal = s.calendar().expect("a valid session");
        let bars: Vec<TimedBar> = GbmMarket::new(&s, cal, tape_engine::rng::seed_from_u64(8))
            .map(|r| r.expect("infallible"))
            .collect();
        let rets = log_returns(&bars);
        let rms = |first: bool| {
            let r: Vec<f64> = rets
                .iter()
                .enumerate()
                .filter(|(i, _)| ((i + 1) % 390 == 0) == first)
                .map(|(_, r)| *r)
                .collect();
            (r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64).sqrt()
        };
        // Overnight: 0.2/√252 ≈ 0.0126 a night; a minute: 0.2/√(252·390) ≈ 0.00064.
        assert!(
            (rms(true) - 0.0126).abs() < 0.0025,
            "overnight rms {}",
            rms(true)
        );
        assert!(rms(false) < 0.001, "intraday rms {}", rms(false));
    }

    #[test]
    fn adding_a_symbol_never_changes_another() {
        let two: Vec<_> = market(2, 40, 7)
            .into_iter()
            .filter(|b| b.bar.symbol.0 == 0)
            .collect();
        let five: Vec<_> = market(5, 40, 7)
            .into_iter()
            .filter(|b| b.bar.symbol.0 == 0)
            .collect();
        assert_eq!(two, five);
    }

    #[test]
    fn bars_are_in_time_then_symbol_order_and_positive() {
        let bars = market(4, 30, 1);
        assert_eq!(bars.len(), 120);
        for w in bars.windows(2) {
            assert!((w[0].ts, w[0].bar.symbol) < (w[1].ts, w[1].bar.symbol));
        }
        assert!(bars.iter().all(|b| b.bar.volume.raw() > 0));
    }

    /// Drift and volatility of log returns match the parameters (a statistical check with a
    /// tolerance of several standard errors, on a long seeded path).
    #[test]
    fn log_returns_have_the_configured_drift_and_volatility() {
        let mut s = spec(1, 200_000, BarInterval::Minute);
        s.initial_price = [100.0, 100.0];
        s.tick_size = 1e-6;
        s.volatility = Some(0.5);
        s.drift = Some(0.0);
        let cal = Calendar::Minutes { first_close: Ts(0) };
        let per_year = cal.bars_per_year();
        let closes: Vec<f64> = GbmMarket::new(&s, cal, tape_engine::rng::seed_from_u64(11))
            .map(|r| r.expect("infallible").bar.close.to_f64())
            .collect();
        let rets: Vec<f64> = closes.windows(2).map(|w| libm::log(w[1] / w[0])).collect();
        let n = rets.len() as f64;
        let mean = rets.iter().sum::<f64>() / n;
        let var = rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
        let vol = (var * per_year).sqrt();
        assert!((vol - 0.5).abs() < 0.01, "annualised volatility {vol}");
        // Expected mean log return per bar: −σ²/2 · dt; its standard error is σ√dt/√n.
        let dt = 1.0 / per_year;
        let expected = -0.5 * 0.25 * dt;
        let se = 0.5 * dt.sqrt() / n.sqrt();
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "mean {mean}, expected {expected} ± {se}"
        );
    }
}
