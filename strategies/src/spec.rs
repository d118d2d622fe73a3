//! A strategy's kind and parameters, as written in a scenario's `[strategy]` table.

use serde::{Deserialize, Serialize};
use tape_engine::fixed::Quantity;
use tape_engine::strategy::Strategy;

use crate::breakout::{Breakout, BreakoutParams};
use crate::sma_cross::{SmaCross, SmaCrossParams};
use crate::trend::{Trend, TrendParams};

/// A `[strategy]` table that cannot become a strategy.
#[derive(Debug, thiserror::Error)]
pub enum StrategySpecError {
    /// `kind` is missing or not a known strategy.
    #[error("[strategy] {}: give kind = \"sma_cross\", \"breakout\" or \"trend\" (the strategies this build knows)", match found { Some(k) => format!("kind = \"{k}\" is not a known strategy"), None => "has no kind".to_string() })]
    UnknownKind { found: Option<String> },
    /// The parameters do not parse (unknown key, wrong type).
    #[error("[strategy] parameters for {kind}: {message}")]
    BadParams { kind: &'static str, message: String },
    /// A parameter is out of its range.
    #[error("[strategy] {key} = {value}: {rule}")]
    OutOfRange {
        key: &'static str,
        value: String,
        rule: &'static str,
    },
}

/// A validated strategy kind and its parameters (defaults filled in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// [`SmaCross`].
    SmaCross(SmaCrossParams),
    /// [`Breakout`].
    Breakout(BreakoutParams),
    /// [`Trend`].
    Trend(TrendParams),
}

impl StrategySpecError {
    /// The `[strategy]` key the error is about, when one is.
    pub fn key(&self) -> Option<&str> {
        match self {
            StrategySpecError::UnknownKind { .. } => Some("kind"),
            StrategySpecError::OutOfRange { key, .. } => Some(key),
            // serde names the field between backticks: "unknown field `speed`, expected …".
            StrategySpecError::BadParams { message, .. } => message.split('`').nth(1),
        }
    }
}

impl StrategySpec {
    /// Parses and validates a `[strategy]` table.
    pub fn from_table(table: &toml::Table) -> Result<Self, StrategySpecError> {
        let kind = table.get("kind").and_then(|v| v.as_str());
        let mut params = table.clone();
        params.remove("kind");
        let spec = match kind {
            Some("sma_cross") => {
                let p: SmaCrossParams = params.try_into().map_err(|e: toml::de::Error| {
                    StrategySpecError::BadParams {
                        kind: "sma_cross",
                        message: e.message().to_string(),
                    }
                })?;
                StrategySpec::SmaCross(p)
            }
            Some("breakout") => {
                let p: BreakoutParams = params.try_into().map_err(|e: toml::de::Error| {
                    StrategySpecError::BadParams {
                        kind: "breakout",
                        message: e.message().to_string(),
                    }
                })?;
                StrategySpec::Breakout(p)
            }
            Some("trend") => {
                let p: TrendParams = params.try_into().map_err(|e: toml::de::Error| {
                    StrategySpecError::BadParams {
                        kind: "trend",
                        message: e.message().to_string(),
                    }
                })?;
                StrategySpec::Trend(p)
            }
            other => {
                return Err(StrategySpecError::UnknownKind {
                    found: other.map(str::to_string),
                })
            }
        };
        spec.validate()?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), StrategySpecError> {
        match self {
            StrategySpec::Trend(p) => crate::trend::validate(p),
            StrategySpec::SmaCross(p) => {
                if p.fast < 1 {
                    return Err(StrategySpecError::OutOfRange {
                        key: "fast",
                        value: p.fast.to_string(),
                        rule: "must be at least 1",
                    });
                }
                if p.slow <= p.fast {
                    return Err(StrategySpecError::OutOfRange {
                        key: "slow",
                        value: p.slow.to_string(),
                        rule: "must be greater than fast",
                    });
                }
                if !(p.quantity.is_finite() && p.quantity > 0.0)
                    || Quantity::from_f64(p.quantity).is_err()
                {
                    return Err(StrategySpecError::OutOfRange {
                        key: "quantity",
                        value: p.quantity.to_string(),
                        rule: "must be a positive number of units",
                    });
                }
                if let Some(gate) = &p.feature_gate {
                    if !gate.min.is_finite() {
                        return Err(StrategySpecError::OutOfRange {
                            key: "feature_gate",
                            value: gate.min.to_string(),
                            rule: "min must be a finite number",
                        });
                    }
                }
                Ok(())
            }
            StrategySpec::Breakout(p) => {
                let range = |key: &'static str, ok: bool, value: String, rule: &'static str| {
                    if ok {
                        Ok(())
                    } else {
                        Err(StrategySpecError::OutOfRange { key, value, rule })
                    }
                };
                range(
                    "lookback",
                    p.lookback >= 1,
                    p.lookback.to_string(),
                    "must be at least 1",
                )?;
                range(
                    "atr_period",
                    p.atr_period >= 1,
                    p.atr_period.to_string(),
                    "must be at least 1",
                )?;
                range(
                    "stop_atr",
                    p.stop_atr.is_finite() && p.stop_atr > 0.0,
                    p.stop_atr.to_string(),
                    "must be a positive number of ATRs",
                )?;
                range(
                    "reward_risk",
                    p.reward_risk.is_finite() && p.reward_risk > 0.0,
                    p.reward_risk.to_string(),
                    "must be a positive multiple of the stop distance",
                )?;
                range(
                    "risk_per_trade",
                    p.risk_per_trade.is_finite()
                        && p.risk_per_trade > 0.0
                        && p.risk_per_trade <= 1.0,
                    p.risk_per_trade.to_string(),
                    "must be a fraction of equity in (0, 1]",
                )?;
                range(
                    "price_tick",
                    p.price_tick.is_finite() && p.price_tick >= 1e-8,
                    p.price_tick.to_string(),
                    "must be a positive price of at least 1e-8",
                )
            }
        }
    }

    /// The point-in-time features the strategy reads (each must be in a `[features]` file).
    pub fn features_read(&self) -> Vec<&str> {
        match self {
            StrategySpec::SmaCross(p) => {
                p.feature_gate.iter().map(|g| g.feature.as_str()).collect()
            }
            StrategySpec::Breakout(_) | StrategySpec::Trend(_) => Vec::new(),
        }
    }

    /// The table form with every default filled in (what goes into the canonical config).
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("a validated spec always serialises")
    }

    /// The strategy, for a run over the symbols `names` (in symbol-id order).
    pub fn build(&self, names: &[String]) -> Box<dyn Strategy> {
        let symbols = names.len();
        match self {
            StrategySpec::SmaCross(p) => {
                let quantity = Quantity::from_f64(p.quantity).expect("validated in from_table");
                Box::new(SmaCross::new(p.clone(), quantity, symbols))
            }
            StrategySpec::Breakout(p) => Box::new(Breakout::new(p.clone(), symbols)),
            StrategySpec::Trend(p) => Box::new(Trend::new(p.clone(), names)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("valid TOML")
    }

    #[test]
    fn parses_and_round_trips() {
        let spec = StrategySpec::from_table(&table(
            "kind = 'sma_cross'\nfast = 5\nslow = 30\nquantity = 2.5",
        ))
        .expect("valid");
        assert_eq!(
            spec,
            StrategySpec::SmaCross(SmaCrossParams {
                fast: 5,
                slow: 30,
                quantity: 2.5,
                feature_gate: None,
            })
        );
        assert_eq!(
            StrategySpec::from_table(&spec.to_table()).expect("round trip"),
            spec
        );
        // Without a gate the canonical table is what it was before gates existed.
        assert!(!spec.to_table().contains_key("feature_gate"));
        let gated = StrategySpec::from_table(&table(
            "kind = 'sma_cross'\nfeature_gate = { feature = 'score', min = -0.5 }",
        ))
        .expect("valid");
        assert_eq!(gated.features_read(), ["score"]);
        assert_eq!(
            StrategySpec::from_table(&gated.to_table()).expect("round trip"),
            gated
        );
        let unknown_key = StrategySpec::from_table(&table(
            "kind = 'sma_cross'\nfeature_gate = { feature = 'score', max = 1 }",
        ));
        assert!(unknown_key.is_err(), "{unknown_key:?}");
    }

    #[test]
    fn missing_parameters_take_their_defaults() {
        let spec = StrategySpec::from_table(&table("kind = 'sma_cross'\nfast = 7")).expect("valid");
        assert_eq!(
            spec,
            StrategySpec::SmaCross(SmaCrossParams {
                fast: 7,
                ..SmaCrossParams::default()
            })
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = StrategySpec::from_table(&table(
            "kind = 'sma_cross'\nfast = 5\nslow = 30\nquantity = 1\nspeed = 3",
        ));
        assert!(unknown
            .expect_err("unknown key")
            .to_string()
            .contains("speed"));
        let range = StrategySpec::from_table(&table(
            "kind = 'sma_cross'\nfast = 30\nslow = 5\nquantity = 1",
        ));
        assert!(range
            .expect_err("slow <= fast")
            .to_string()
            .contains("slow"));
        let kind = StrategySpec::from_table(&table("kind = 'magic'"));
        assert!(kind
            .expect_err("unknown kind")
            .to_string()
            .contains("magic"));
    }
}
