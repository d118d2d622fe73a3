//! Point-in-time features: the core joins them as of each slice, never ahead of it.

use std::sync::{Arc, Mutex};

use tape_engine::core::{Core, CoreConfig, Input, StepError};
use tape_engine::event::{Bar, Feature, FeatureId, RuleSpec, SymbolId};
use tape_engine::execution::{CostModel, FillTiming};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::market::MarketView;
use tape_engine::risk::RiskLimits;
use tape_engine::strategy::{Decisions, Strategy};
use tape_engine::time::Ts;

/// What the strategy saw at each slice: (now, symbol, value, available_at).
type Seen = Arc<Mutex<Vec<(Ts, u32, Option<(f64, Ts)>)>>>;

/// Records the feature value it sees for every updated symbol.
struct Recorder {
    seen: Seen,
}

impl Strategy for Recorder {
    fn rules(&self) -> &'static [RuleSpec] {
        &[]
    }

    fn on_slice(&mut self, view: &MarketView<'_>, _: &mut Decisions) {
        let id = view
            .feature_id("score")
            .expect("the run's feature table has it");
        for &symbol in view.updated() {
            let value = view.feature(id, symbol).map(|o| (o.value, o.available_at));
            self.seen
                .lock()
                .expect("one thread")
                .push((view.now(), symbol.0, value));
        }
    }
}

fn core(seen: &Seen) -> Core {
    let config = CoreConfig {
        initial_cash: Money::from_units(1_000).expect("fits"),
        costs: CostModel {
            slippage_bps: 0,
            fee_bps: 0,
            ..CostModel::default()
        },
        snapshot_every: 1,
        fill_timing: FillTiming::NextBarOpen,
        participation_ppm: 0,
        tick_size: None,
        lot_size: None,
        risk: RiskLimits::default(),
        latency_bars: 0,
        latency_ns: 0,
    };
    Core::new(
        0,
        [0; 32],
        config,
        2,
        Box::new(Recorder {
            seen: Arc::clone(seen),
        }),
    )
    .with_features(vec!["other".to_string(), "score".to_string()])
}

fn bar(symbol: u32) -> Bar {
    let p = Price::from_f64(10.0).expect("valid");
    Bar::new(SymbolId(symbol), p, p, p, p, Quantity::ZERO).expect("consistent")
}

fn feature(symbol: u32, name: u32, value: f64) -> Feature {
    Feature {
        symbol: SymbolId(symbol),
        feature: FeatureId(name),
        input: 1,
        row: 2,
        value,
    }
}

#[test]
fn a_strategy_sees_the_latest_value_available_by_its_slice_and_none_before() {
    let seen = Seen::default();
    let mut core = core(&seen);
    core.start(Ts(0)).expect("starts");
    let step = |core: &mut Core, input| core.step(input).expect("in order");
    step(
        &mut core,
        Input::Bar {
            ts: Ts(10),
            bar: bar(0),
        },
    );
    // Available between two bars: seen from the next slice on.
    let f = feature(0, 1, 1.5);
    step(
        &mut core,
        Input::Feature {
            ts: Ts(15),
            feature: f,
        },
    );
    // Another feature (id 0) of the same symbol is not "score".
    let other = feature(0, 0, 99.0);
    step(
        &mut core,
        Input::Feature {
            ts: Ts(16),
            feature: other,
        },
    );
    step(
        &mut core,
        Input::Bar {
            ts: Ts(20),
            bar: bar(0),
        },
    );
    step(
        &mut core,
        Input::Bar {
            ts: Ts(20),
            bar: bar(1),
        },
    );
    // Available exactly at a bar's close: known at that slice.
    let f = feature(0, 1, -2.0);
    step(
        &mut core,
        Input::Feature {
            ts: Ts(30),
            feature: f,
        },
    );
    step(
        &mut core,
        Input::Bar {
            ts: Ts(30),
            bar: bar(0),
        },
    );
    // Available after the last bar: never seen.
    let f = feature(0, 1, 7.0);
    step(
        &mut core,
        Input::Feature {
            ts: Ts(35),
            feature: f,
        },
    );
    core.finish().expect("finishes");

    let seen = seen.lock().expect("done").clone();
    assert_eq!(
        seen,
        vec![
            (Ts(10), 0, None),
            (Ts(20), 0, Some((1.5, Ts(15)))),
            (Ts(20), 1, None),
            (Ts(30), 0, Some((-2.0, Ts(30)))),
        ]
    );
}

#[test]
fn features_out_of_time_order_or_out_of_the_table_are_refused() {
    let seen = Seen::default();
    let mut core = core(&seen);
    core.start(Ts(0)).expect("starts");
    core.step(Input::Bar {
        ts: Ts(10),
        bar: bar(0),
    })
    .expect("in order");
    core.step(Input::Bar {
        ts: Ts(20),
        bar: bar(0),
    })
    .expect("in order");
    let late = core.step(Input::Feature {
        ts: Ts(10),
        feature: feature(0, 1, 1.0),
    });
    assert!(
        matches!(late, Err(StepError::OutOfOrder { .. })),
        "{late:?}"
    );
    let unknown = core.step(Input::Feature {
        ts: Ts(20),
        feature: feature(0, 2, 1.0),
    });
    assert!(
        matches!(
            unknown,
            Err(StepError::UnknownFeature {
                feature: 2,
                count: 2
            })
        ),
        "{unknown:?}"
    );
}
