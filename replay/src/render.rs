//! Events as text lines and JSON lines, named through a ledger header (symbols, rules).
//!
//! JSON numbers for fixed-point values are their exact decimal text (`101.23`), never a
//! rounded double; floats use the shortest round-trip text, and a non-finite float is `null`.

use std::fmt::Write;

use tape_engine::event::{Event, FieldValue, Reason};
use tape_engine::ledger::{fingerprint_hex, Header};

/// Renders events of one ledger.
pub struct Renderer<'a> {
    header: &'a Header,
}

impl<'a> Renderer<'a> {
    /// A renderer naming symbols and rules through `header`.
    pub fn new(header: &'a Header) -> Self {
        Self { header }
    }

    /// A symbol's name through the header's symbol table (`#id` if it has none).
    pub fn symbol(&self, id: u32) -> String {
        self.header
            .symbols
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// A feature's name through the header's feature table (`#id` if it has none).
    pub fn feature(&self, id: u32) -> String {
        self.header
            .features
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// One readable line: `#seq ts kind field=value … causes=[…]`.
    pub fn text(&self, event: &Event) -> String {
        let mut out = format!("#{} {} {}", event.seq.0, event.ts, event.body.kind().name());
        // The symbol comes first, unnamed: it is what a reader scans for.
        if let Some(symbol) = event.body.symbol() {
            let _ = write!(out, " {}", self.symbol(symbol.0));
        }
        for (name, value) in event.body.fields() {
            match value {
                FieldValue::Symbol(_) => {}
                FieldValue::Reason(r) => {
                    let (rule, values) = self.reason(&r);
                    let _ = write!(out, " {name}={rule}({values})");
                }
                other => {
                    let _ = write!(out, " {name}={}", self.plain(&other));
                }
            }
        }
        if !event.causes.as_slice().is_empty() {
            let causes: Vec<String> = event
                .causes
                .as_slice()
                .iter()
                .map(|c| c.0.to_string())
                .collect();
            let _ = write!(out, " causes=[{}]", causes.join(","));
        }
        out
    }

    /// A reason's rule name and its values as `name=value …` through the header's rule table:
    /// `("sma_cross", "fast_period=20 slow_period=100 …")`.
    pub fn reason(&self, reason: &Reason) -> (String, String) {
        let (rule, values) = self.header.rules.describe(reason);
        let parts: Vec<String> = values
            .iter()
            .map(|(n, v)| format!("{n}={}", self.plain(v)))
            .collect();
        (rule, parts.join(" "))
    }

    /// A value as `tape show` prints it: exact decimals, names through the header.
    pub fn plain(&self, value: &FieldValue) -> String {
        match value {
            FieldValue::U64(v) => v.to_string(),
            FieldValue::I64(v) => v.to_string(),
            FieldValue::F64(v) => float_text(*v),
            FieldValue::Price(p) => p.to_string(),
            FieldValue::OptPrice(Some(p)) => p.to_string(),
            FieldValue::OptPrice(None) => "none".to_string(),
            FieldValue::Quantity(q) => q.to_string(),
            FieldValue::Money(m) => m.to_string(),
            FieldValue::Symbol(s) => self.symbol(s.0),
            FieldValue::Feature(f) => self.feature(f.0),
            FieldValue::Word(w) => w.to_string(),
            FieldValue::Digest(d) => fingerprint_hex(d),
            FieldValue::Reason(r) => self.header.rules.describe(r).0,
        }
    }

    /// One JSON object: `seq`, `ts` (RFC 3339), `ts_ns`, `kind`, `causes`, then the payload.
    pub fn json(&self, event: &Event) -> String {
        let mut out = String::with_capacity(256);
        let causes: Vec<String> = event
            .causes
            .as_slice()
            .iter()
            .map(|c| c.0.to_string())
            .collect();
        let _ = write!(
            out,
            "{{\"seq\":{},\"ts\":\"{}\",\"ts_ns\":{},\"kind\":\"{}\",\"causes\":[{}]",
            event.seq.0,
            event.ts,
            event.ts.0,
            event.body.kind().name(),
            causes.join(",")
        );
        for (name, value) in event.body.fields() {
            let _ = write!(out, ",\"{name}\":{}", self.json_value(&value));
        }
        out.push('}');
        out
    }

    fn json_value(&self, value: &FieldValue) -> String {
        match value {
            FieldValue::U64(v) => v.to_string(),
            FieldValue::I64(v) => v.to_string(),
            FieldValue::F64(v) if v.is_finite() => float_text(*v),
            FieldValue::F64(_) => "null".to_string(),
            FieldValue::Price(p) => p.to_string(),
            FieldValue::OptPrice(Some(p)) => p.to_string(),
            FieldValue::OptPrice(None) => "null".to_string(),
            FieldValue::Quantity(q) => q.to_string(),
            FieldValue::Money(m) => m.to_string(),
            FieldValue::Symbol(s) => json_string(&self.symbol(s.0)),
            FieldValue::Feature(f) => json_string(&self.feature(f.0)),
            FieldValue::Word(w) => json_string(w),
            FieldValue::Digest(d) => json_string(&fingerprint_hex(d)),
            FieldValue::Reason(r) => {
                let (rule, values) = self.header.rules.describe(r);
                let mut out = format!("{{\"rule\":{}", json_string(&rule));
                for (n, v) in values {
                    let _ = write!(out, ",{}:{}", json_string(&n), self.json_value(&v));
                }
                out.push('}');
                out
            }
        }
    }
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// The shortest text that reads back as the same float.
pub fn float_text(v: f64) -> String {
    format!("{v:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tape_engine::event::{
        Causes, EventBody, OrderFilled, OrderId, RuleTable, Seq, Side, SymbolId,
    };
    use tape_engine::fixed::{Money, Price, Quantity};
    use tape_engine::time::Ts;

    fn header() -> Header {
        let rules = RuleTable::from_specs(tape_engine::rules::ENGINE_RULES).expect("unique ids");
        Header::new(
            [0; 32],
            "t".to_string(),
            vec!["AAA".to_string()],
            vec![],
            rules,
            String::new(),
        )
    }

    #[test]
    fn json_line_is_valid_json_with_exact_decimals() {
        let fill = Event {
            seq: Seq(9),
            ts: Ts::from_date(2020, 1, 2),
            causes: Causes::from_slice(&[Seq(3), Seq(8)]).expect("fits"),
            body: EventBody::OrderFilled(OrderFilled {
                order: OrderId(0),
                symbol: SymbolId(0),
                side: Side::Buy,
                quantity: Quantity::from_units(100).expect("fits"),
                price: Price::from_raw(10_123_456_789).expect("positive"),
                expected_price: Price::from_raw(10_000_000_000).expect("positive"),
                fee: Money::from_raw(1),
                slippage: Money::from_raw(-2_500_000),
                remaining: Quantity::ZERO,
            }),
        };
        let h = header();
        let line = Renderer::new(&h).json(&fill);
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["kind"], "fill");
        assert_eq!(v["symbol"], "AAA");
        assert_eq!(v["causes"], serde_json::json!([3, 8]));
        assert!(line.contains("\"price\":101.23456789"), "{line}");
        assert!(line.contains("\"slippage\":-2.50"), "{line}");
        let text = Renderer::new(&h).text(&fill);
        assert!(
            text.starts_with("#9 2020-01-02T00:00:00Z fill AAA order=0 side=buy"),
            "{text}"
        );
    }
}
