//! A run plan: a validated scenario, its strategy and the ledger header that records them.
//! Built from a scenario for `tape run`, or from a ledger header for `tape replay`.

use std::path::{Path, PathBuf};

use tape_engine::core::{Core, CoreConfig};
use tape_engine::event::{RuleTable, SymbolId};
use tape_engine::execution::FillTiming;
use tape_engine::ledger::{Header, InputSource};
use tape_engine::rng::seed_from_u64;
use tape_engine::rules::ENGINE_RULES;
use tape_engine::strategy::Strategy;
use tape_engine::threaded::ThreadedSource;
use tape_engine::time::Ts;
use tape_scenarios::loader::features::FeatureSet;
use tape_scenarios::loader::files::FileMarket;
use tape_scenarios::loader::{BarSource, LoadError};
use tape_scenarios::synthetic::GbmMarket;
use tape_scenarios::{builtin, FillSpec, Market, Scenario, ScenarioError};
use tape_strategies::{StrategySpec, StrategySpecError};

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The scenario file could not be read.
    #[error("cannot read scenario {path}: {source} (give a built-in name — see `tape scenarios` — or a TOML file)")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The strategy table is invalid.
    #[error("{origin}: {source}")]
    Strategy {
        origin: String,
        source: StrategySpecError,
    },
    /// An `[[instruments]]` table names a symbol the market does not have.
    #[error("{origin}: [[instruments]] names the symbol '{symbol}', which the market does not have (symbols: {known})")]
    UnknownInstrument {
        origin: String,
        symbol: String,
        known: String,
    },
    /// The strategy reads a feature no feature file has.
    #[error("{origin}: [strategy] reads the feature '{feature}', which no [features] file has ({known})")]
    UnknownFeature {
        origin: String,
        feature: String,
        known: String,
    },
    /// The market's data files cannot be used.
    #[error("{origin}: {source}")]
    Data { origin: String, source: LoadError },
    /// A ledger's recorded configuration does not describe a run this build can re-execute.
    #[error("the ledger's recorded configuration cannot be re-executed by this build: {0}")]
    Recorded(String),
    /// A thread could not be started.
    #[error("cannot start the market thread: {0}")]
    Thread(String),
}

/// A validated run, ready to execute.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The scenario (with the effective seed).
    pub scenario: Scenario,
    /// The strategy with defaults filled in.
    pub strategy: StrategySpec,
    /// The ledger header recording all of it.
    pub header: Header,
    /// A different future for the market after a cut (the look-ahead check's alternative).
    pub future: Option<(Ts, [u8; 32])>,
    /// The time the run starts: its `run_started` event's time, at or before the first bar.
    pub start: Ts,
    /// A file market, resolved and checked by the data guard (`None` for synthetic markets
    /// and for plans rebuilt from a ledger, whose bars are in the ledger).
    pub data: Option<FileMarket>,
    /// Point-in-time feature tables, read and checked (`None` without `[features]`, and for
    /// plans rebuilt from a ledger).
    pub features: Option<FeatureSet>,
}

impl RunPlan {
    /// A plan from a built-in name or a TOML file path; `seed` overrides the scenario's.
    /// Data files are found relative to the scenario file.
    pub fn load(name_or_path: &str, seed: Option<u64>) -> Result<Self, PlanError> {
        let (text, origin, base) = match builtin::find(name_or_path) {
            Some(b) => (
                b.toml.to_string(),
                format!("built-in scenario '{}'", b.name),
                PathBuf::from("."),
            ),
            None => {
                let text =
                    std::fs::read_to_string(name_or_path).map_err(|source| PlanError::Read {
                        path: name_or_path.to_string(),
                        source,
                    })?;
                let base = Path::new(name_or_path)
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                (text, name_or_path.to_string(), base)
            }
        };
        let mut scenario = Scenario::from_toml(&text, &origin)?;
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        Self::from_scenario_in(scenario, &origin, &base).map_err(|e| match e {
            PlanError::Strategy { origin, source } => {
                let line = source.key().and_then(|key| strategy_line(&text, key));
                let origin = match line {
                    Some(n) => format!("{origin}, line {n}"),
                    None => origin,
                };
                PlanError::Strategy { origin, source }
            }
            other => other,
        })
    }

    /// A plan from a parsed scenario whose data files (if any) are relative to the current
    /// directory.
    pub fn from_scenario(scenario: Scenario, origin: &str) -> Result<Self, PlanError> {
        Self::from_scenario_in(scenario, origin, Path::new("."))
    }

    /// A plan from a parsed scenario whose data files are relative to `base`. File data is
    /// read here once, through the data guard, so a rejected row stops the run before any
    /// ledger exists.
    pub fn from_scenario_in(
        scenario: Scenario,
        origin: &str,
        base: &Path,
    ) -> Result<Self, PlanError> {
        let (symbols, mut inputs, start, data) = match &scenario.market {
            Market::Gbm(g) => {
                let canonical = scenario.market_canonical();
                let inputs = vec![InputSource {
                    name: "synthetic:gbm".to_string(),
                    blake3: *blake3::hash(canonical.as_bytes()).as_bytes(),
                }];
                (g.symbol_names(), inputs, g.start_time(), None)
            }
            Market::Files(c) => {
                let data_error = |source| PlanError::Data {
                    origin: origin.to_string(),
                    source,
                };
                let market = FileMarket::open(c, base).map_err(data_error)?;
                let start = match &c.start {
                    Some(t) => Ts::parse(t).map_err(|e| {
                        data_error(LoadError::Open {
                            file: "[market] start".to_string(),
                            detail: e.to_string(),
                        })
                    })?,
                    None => market.report().first_ts.unwrap_or_default(),
                };
                (
                    market.symbols().to_vec(),
                    market.inputs().map_err(data_error)?,
                    start,
                    Some(market),
                )
            }
        };
        let features = match &scenario.features {
            Some(spec) => {
                let data_error = |source| PlanError::Data {
                    origin: origin.to_string(),
                    source,
                };
                let set = FeatureSet::open(spec, base, &symbols, inputs.len() as u32)
                    .map_err(data_error)?;
                inputs.extend(set.inputs().map_err(data_error)?);
                Some(set)
            }
            None => None,
        };
        let names = features
            .as_ref()
            .map(|f| f.names().to_vec())
            .unwrap_or_default();
        let mut plan = Self::assemble(scenario, origin, symbols, names, inputs, start, data)?;
        plan.features = features;
        Ok(plan)
    }

    fn assemble(
        scenario: Scenario,
        origin: &str,
        symbols: Vec<String>,
        features: Vec<String>,
        inputs: Vec<InputSource>,
        start: Ts,
        data: Option<FileMarket>,
    ) -> Result<Self, PlanError> {
        let strategy =
            StrategySpec::from_table(&scenario.strategy).map_err(|source| PlanError::Strategy {
                origin: origin.to_string(),
                source,
            })?;
        for name in strategy.features_read() {
            if !features.iter().any(|f| f == name) {
                let known = if features.is_empty() {
                    "the scenario has no [features] table".to_string()
                } else {
                    format!("features found: {}", features.join(", "))
                };
                return Err(PlanError::UnknownFeature {
                    origin: origin.to_string(),
                    feature: name.to_string(),
                    known,
                });
            }
        }
        for instrument in &scenario.instruments {
            if let Some(name) = instrument.symbols.iter().find(|n| !symbols.contains(n)) {
                return Err(PlanError::UnknownInstrument {
                    origin: origin.to_string(),
                    symbol: name.clone(),
                    known: symbols.join(", "),
                });
            }
        }
        let config = scenario.canonical(strategy.to_table());
        let probe = strategy.build(&[]);
        let data_rules: &[tape_engine::event::RuleSpec] = match &scenario.market {
            Market::Files(f) => f.guard_rules(),
            Market::Gbm(_) => &[],
        };
        let rules =
            RuleTable::from_specs(ENGINE_RULES.iter().chain(data_rules).chain(probe.rules()))
                .expect("engine, data and strategy rule ids are disjoint by construction");
        let header = Header::new(
            seed_from_u64(scenario.seed),
            scenario.name.clone(),
            symbols,
            inputs,
            rules,
            config,
        )
        .with_features(features);
        Ok(Self {
            scenario,
            strategy,
            header,
            future: None,
            start,
            data,
            features: None,
        })
    }

    /// The plan recorded in a ledger header, checked to rebuild the very same header. Needs
    /// no data file: the symbols and input hashes are taken from the header, the bars from
    /// the ledger.
    pub fn from_header(recorded: &Header) -> Result<Self, PlanError> {
        let origin = "the ledger's recorded configuration";
        let scenario = Scenario::from_toml(&recorded.config, origin)
            .map_err(|e| PlanError::Recorded(e.to_string()))?;
        let start = scenario.gbm().map(|g| g.start_time()).unwrap_or_default();
        let mut plan = Self::assemble(
            scenario,
            origin,
            recorded.symbols.clone(),
            recorded.features.clone(),
            recorded.inputs.clone(),
            start,
            None,
        )
        .map_err(|e| PlanError::Recorded(e.to_string()))?;
        // The recorded configuration text is kept as written, so a ledger from before a new
        // option existed (its default now filled in) keeps its header, salt and bytes.
        plan.header.config = recorded.config.clone();
        plan.header.format_version = recorded.format_version;
        // Rules this build added since the ledger was written are not in its table; a run
        // that fired one would differ, and replay would say so at that event.
        if recorded.rules.is_subset_of(&plan.header.rules) {
            plan.header.rules = recorded.rules.clone();
        }
        plan.header = plan.header.with_engine_version(&recorded.engine_version);
        if plan.header != *recorded {
            let what = if plan.header.rules != recorded.rules {
                "its rule table differs from this build's rules"
            } else {
                "its header differs from the one this build derives from its configuration"
            };
            return Err(PlanError::Recorded(format!(
                "{what} (written by Tape {})",
                recorded.engine_version
            )));
        }
        Ok(plan)
    }

    /// The same run with the market's future after `cut` drawn from `future_seed` instead.
    /// The header records the changed input, so the two ledgers never pass as one run.
    pub fn with_future_after(mut self, cut: Ts, future_seed: u64) -> Self {
        let seed = seed_from_u64(future_seed);
        self.future = Some((cut, seed));
        if let Some(input) = self.header.inputs.first_mut() {
            input.name = format!("synthetic:gbm, future after {cut} from seed {future_seed}");
        }
        let version = self.header.engine_version.clone();
        self.header = self.header.with_engine_version(&version);
        self
    }

    /// A fresh core for this plan.
    pub fn core(&self) -> Core {
        self.core_with_strategy(self.strategy.build(&self.header.symbols))
    }

    /// A fresh core for this plan's account, costs and execution, with another strategy (a
    /// test's deliberately leaky one, say).
    pub fn core_with_strategy(&self, strategy: Box<dyn Strategy>) -> Core {
        let config = CoreConfig {
            initial_cash: self.scenario.initial_cash(),
            costs: self.scenario.cost_model(),
            snapshot_every: self.scenario.account.snapshot_every,
            fill_timing: match self.scenario.execution.fill {
                FillSpec::NextBarOpen => FillTiming::NextBarOpen,
                FillSpec::SameBarClose => FillTiming::SameBarClose,
            },
            participation_ppm: self.scenario.execution.participation_ppm(),
            tick_size: self.scenario.execution.tick(),
            lot_size: self.scenario.execution.lot(),
            risk: self.scenario.risk.limits(),
            latency_bars: self.scenario.execution.latency_bars,
            latency_ns: self.scenario.execution.latency_ns,
        };
        let symbols = self.header.symbols.len();
        let mut core = Core::new(
            self.header.salt,
            self.header.config_digest(),
            config,
            symbols,
            strategy,
        )
        .with_features(self.header.features.clone());
        if let Some(m) = self.scenario.account.initial_margin {
            core = core.with_initial_margin((m * 1e6).round() as u32);
        }
        if let Some(m) = self.scenario.account.maintenance_margin {
            core = core.with_maintenance_margin((m * 1e6).round() as u32);
        }
        if let Some(b) = self.scenario.account.borrow_fee {
            core = core.with_borrow_fee((b * 1e6).round() as u32);
        }
        for instrument in &self.scenario.instruments {
            for name in &instrument.symbols {
                // Checked when the plan was made: every named symbol is in the table.
                if let Some(i) = self.header.symbols.iter().position(|s| s == name) {
                    core = core.with_instrument(SymbolId(i as u32), instrument.rules());
                }
            }
        }
        core
    }

    /// The seeded synthetic market, for a synthetic scenario (with its forked future, if any).
    pub fn synthetic_market(&self) -> Option<GbmMarket> {
        let g = self.scenario.gbm()?;
        let calendar = g.calendar().expect("validated with the scenario");
        let market = GbmMarket::new(g, calendar, self.header.seed);
        Some(match self.future {
            Some((cut, seed)) => market.with_future_after(cut, seed),
            None => market,
        })
    }

    /// The input streams of this run: the synthetic market on its own thread, or one
    /// checked stream per symbol and file; then the feature streams.
    pub fn sources(&self) -> Result<Vec<BarSource>, PlanError> {
        let mut sources: Vec<BarSource> = if let Some(market) = self.synthetic_market() {
            let market = ThreadedSource::spawn(
                market.map(|r| r.map(Into::into).map_err(|never| match never {})),
            )
            .map_err(|e| PlanError::Thread(e.to_string()))?;
            vec![Box::new(market)]
        } else {
            match &self.data {
                Some(data) => data.sources(),
                None => {
                    return Err(PlanError::Recorded(
                        "this plan was rebuilt from a ledger: its bars are in the ledger"
                            .to_string(),
                    ))
                }
            }
        };
        sources.extend(self.feature_sources());
        Ok(sources)
    }

    /// The feature streams of this run (none without `[features]`).
    pub fn feature_sources(&self) -> Vec<BarSource> {
        self.features
            .as_ref()
            .map(FeatureSet::sources)
            .unwrap_or_default()
    }

    /// Bars the market will deliver.
    pub fn total_bars(&self) -> u64 {
        match (&self.scenario.market, &self.data) {
            (Market::Gbm(g), _) => g.bars * u64::from(g.symbols),
            (Market::Files(_), Some(d)) => d.report().bars,
            (Market::Files(_), None) => 0,
        }
    }
}

/// The 1-based line of `key` in the `[strategy]` table of a scenario's text, or of the table
/// header when the key is not written (a missing `kind`).
fn strategy_line(text: &str, key: &str) -> Option<usize> {
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            if header.is_some() {
                break;
            }
            if line == "[strategy]" {
                header = Some(i + 1);
            }
        } else if header.is_some() {
            let name = line
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            if name == key {
                return Some(i + 1);
            }
        }
    }
    header
}
