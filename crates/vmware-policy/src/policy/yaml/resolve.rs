//! YAML 1.1 scalar resolution and construction, as PyYAML's SafeLoader does it.

use std::sync::LazyLock;

use regex::Regex;
use yaml_rust2::parser::Tag;
use yaml_rust2::scanner::TScalarStyle;

use super::{LoadError, Node, Pos, Value, YAML_TAG, err};

/// Marker value for a plain `<<` key (YAML 1.1 merge).
pub(super) const MERGE_KEY: &str = "\u{0}<<merge>>";

pub(super) fn scalar(
    text: String,
    style: TScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Node, LoadError> {
    let value = match tag {
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Value::Str(text.clone()),
        Some(t) if t.handle == YAML_TAG => match t.suffix.as_str() {
            "str" => Value::Str(text.clone()),
            "null" => Value::Null,
            "bool" => match text.to_lowercase().as_str() {
                "yes" | "true" | "on" => Value::Bool(true),
                "no" | "false" | "off" => Value::Bool(false),
                _ => return Err(err(format!("'{text}' is not a boolean"), pos)),
            },
            "int" => construct_int(&text)
                .ok_or_else(|| err(format!("'{text}' is not an integer"), pos))?,
            "float" => construct_float(&text)
                .ok_or_else(|| err(format!("'{text}' is not a number"), pos))?,
            "timestamp" => timestamp(&text, pos)?,
            other => {
                return Err(err(
                    format!("could not determine a constructor for the tag '!!{other}'"),
                    pos,
                ));
            }
        },
        Some(t) => {
            return Err(err(
                format!(
                    "could not determine a constructor for the tag '{}{}'",
                    t.handle, t.suffix
                ),
                pos,
            ));
        }
        None if style == TScalarStyle::Plain => resolve_plain(&text, pos)?,
        None => Value::Str(text.clone()),
    };
    let mut node = Node::new(value, pos);
    if style == TScalarStyle::Plain && tag.is_none() && !matches!(node.value, Value::Str(_)) {
        node.plain = Some(text);
    }
    Ok(node)
}

static BOOL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
        .unwrap()
});
static FLOAT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN))$"
    ))
    .unwrap()
});
static INT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?0b[0-1_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
    ))
    .unwrap()
});
static NULL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:~|null|Null|NULL|)$").unwrap());
static TIMESTAMP_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
        r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"
    ))
    .unwrap()
});

/// PyYAML's implicit resolvers for a plain scalar, in its order.
fn resolve_plain(text: &str, pos: Pos) -> Result<Value, LoadError> {
    if BOOL_RE.is_match(text) {
        return Ok(Value::Bool(
            matches!(text.as_bytes()[0], b'y' | b'Y' | b't' | b'T')
                || text.eq_ignore_ascii_case("on"),
        ));
    }
    if FLOAT_RE.is_match(text) {
        return construct_float(text).ok_or_else(|| err(format!("'{text}' is not a number"), pos));
    }
    if INT_RE.is_match(text) {
        return construct_int(text).ok_or_else(|| err(format!("'{text}' is not an integer"), pos));
    }
    if text == "<<" {
        return Ok(Value::Str(MERGE_KEY.into()));
    }
    if NULL_RE.is_match(text) {
        return Ok(Value::Null);
    }
    if TIMESTAMP_RE.is_match(text) {
        return timestamp(text, pos);
    }
    if text == "=" {
        return Err(err(
            "could not determine a constructor for the tag 'tag:yaml.org,2002:value'",
            pos,
        ));
    }
    Ok(Value::Str(text.into()))
}

/// PyYAML's `construct_yaml_timestamp`: Python's `date`/`datetime`/`timezone`
/// refuse what does not exist (`2026-02-30`, hour 24, an offset of a day or
/// more), and then PyYAML refuses the whole file.
fn timestamp(text: &str, pos: Pos) -> Result<Value, LoadError> {
    static PARTS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})",
            r"(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]*)?",
            r"(?:[ \t]*(?:Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$"
        ))
        .unwrap()
    });
    let bad = |why: &str| {
        err(
            format!("'{text}' is not a valid timestamp ({why}); PyYAML refuses the file"),
            pos,
        )
    };
    let Some(c) = PARTS.captures(text) else {
        return Err(bad("not of the form YYYY-MM-DD[ HH:MM:SS]"));
    };
    let num = |i: usize| {
        c.get(i)
            .map(|m| m.as_str().parse::<u32>().unwrap_or(u32::MAX))
    };
    let (year, month, day) = (
        num(1).unwrap_or(0),
        num(2).unwrap_or(0),
        num(3).unwrap_or(0),
    );
    if year == 0 || chrono::NaiveDate::from_ymd_opt(year as i32, month, day).is_none() {
        return Err(bad("no such date"));
    }
    if let (Some(h), Some(m), Some(s)) = (num(4), num(5), num(6))
        && (h > 23 || m > 59 || s > 59)
    {
        return Err(bad("no such time"));
    }
    if c.get(7).is_some() {
        let minutes = num(8).unwrap_or(0) * 60 + num(9).unwrap_or(0);
        if minutes >= 24 * 60 {
            return Err(bad("the offset is a day or more"));
        }
    }
    Ok(Value::Timestamp(text.into()))
}

/// PyYAML's `construct_yaml_int`.
fn construct_int(text: &str) -> Option<Value> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let (sign, digits) = match cleaned.as_bytes().first()? {
        b'-' => (-1i128, &cleaned[1..]),
        b'+' => (1, &cleaned[1..]),
        _ => (1, cleaned.as_str()),
    };
    let magnitude = if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if digits.starts_with('0') {
        i128::from_str_radix(digits, 8).ok()?
    } else if digits.contains(':') {
        digits.split(':').try_fold(0i128, |acc, part| {
            acc.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)
        })?
    } else {
        digits.parse::<i128>().ok()?
    };
    Some(Value::Int(sign * magnitude))
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(text: &str) -> Option<Value> {
    let cleaned: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let (sign, digits) = match cleaned.as_bytes().first()? {
        b'-' => (-1.0, &cleaned[1..]),
        b'+' => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    let magnitude = if digits == ".inf" {
        f64::INFINITY
    } else if digits == ".nan" {
        f64::NAN
    } else if digits.contains(':') {
        digits.split(':').try_fold(0.0f64, |acc, part| {
            Some(acc * 60.0 + part.parse::<f64>().ok()?)
        })?
    } else {
        digits.parse::<f64>().ok()?
    };
    Some(Value::Float(sign * magnitude))
}
