//! The canonical TOML form of a configuration: what goes into a ledger header.
//!
//! Keys are sorted; scalars come before sub-tables; floats use Rust's shortest round-trip
//! form; strings use TOML basic-string escapes. The emitter is ours, so the bytes cannot
//! change with a TOML crate's formatting choices.

use std::fmt::Write;

/// The canonical text of a table.
pub fn to_canonical_toml(table: &toml::Table) -> String {
    let mut out = String::new();
    emit_table(&mut out, &mut Vec::new(), table);
    out
}

fn emit_table(out: &mut String, path: &mut Vec<String>, table: &toml::Table) {
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort();
    for key in &keys {
        let value = &table[key.as_str()];
        if !value.is_table() {
            let _ = writeln!(out, "{} = {}", key_text(key), value_text(value));
        }
    }
    for key in keys {
        if let toml::Value::Table(sub) = &table[key.as_str()] {
            path.push(key_text(key));
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "[{}]", path.join("."));
            emit_table(out, path, sub);
            path.pop();
        }
    }
}

fn key_text(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_string()
    } else {
        string_text(key)
    }
}

fn string_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => string_text(s),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => float_text(*f),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", parts.join(", "))
        }
        toml::Value::Table(t) => {
            let mut keys: Vec<&String> = t.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{} = {}", key_text(k), value_text(&t[k.as_str()])))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        // `{:?}` is the shortest text that parses back to the same f64, and always has a
        // `.` or an exponent, so TOML reads it as a float.
        format!("{f:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_and_puts_tables_last() {
        let t: toml::Table = "b = 1\n[z]\ny = 'x'\n[a]\nq = 0.1\np = [1, 2]\n"
            .parse()
            .expect("valid");
        assert_eq!(
            to_canonical_toml(&t),
            "b = 1\n\n[a]\np = [1, 2]\nq = 0.1\n\n[z]\ny = \"x\"\n"
        );
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_table() {
        let t: toml::Table = "s = \"a\\\"b\\nc\"\nf = 1e-9\ng = 3.0\n[n.m]\nk = true\n"
            .parse()
            .expect("valid");
        let text = to_canonical_toml(&t);
        let back: toml::Table = text.parse().expect("canonical text is TOML");
        assert_eq!(back, t);
        assert_eq!(
            to_canonical_toml(&back),
            text,
            "canonical form is a fixed point"
        );
    }
}
