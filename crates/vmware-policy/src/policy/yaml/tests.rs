//! Tests of `yaml`: YAML 1.1 readings, merges, hostile documents, reprs.
use super::*;

fn v(text: &str) -> Node {
    load(text).unwrap()
}

#[test]
fn plain_scalars_resolve_as_yaml_1_1() {
    let doc = v(
        "a: 22:00\nb: '22:00'\nc: 06:00\nd: on\ne: 010\nf: 1.5\ng: ~\nh: 1e3\ni: 2026-01-01\nj: 0x1F\n",
    );
    assert!(matches!(doc.get("a").unwrap().value, Value::Int(1320)));
    assert_eq!(doc.get("a").unwrap().plain.as_deref(), Some("22:00"));
    assert_eq!(doc.get("b").unwrap().as_str(), Some("22:00"));
    assert_eq!(doc.get("c").unwrap().as_str(), Some("06:00"));
    assert!(matches!(doc.get("d").unwrap().value, Value::Bool(true)));
    assert!(matches!(doc.get("e").unwrap().value, Value::Int(8)));
    assert!(matches!(doc.get("f").unwrap().value, Value::Float(f) if f == 1.5));
    assert!(matches!(doc.get("g").unwrap().value, Value::Null));
    assert_eq!(doc.get("h").unwrap().as_str(), Some("1e3"));
    assert!(matches!(doc.get("i").unwrap().value, Value::Timestamp(_)));
    assert!(matches!(doc.get("j").unwrap().value, Value::Int(31)));
}

#[test]
fn merges_and_duplicate_keys_follow_pyyaml() {
    let doc = v("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n  y: 4\n");
    let m = doc.get("m").unwrap();
    assert!(matches!(m.get("x").unwrap().value, Value::Int(1)));
    assert!(matches!(m.get("y").unwrap().value, Value::Int(4)));
    let dups = duplicate_keys("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
    let names: Vec<_> = dups.iter().map(|(k, p)| (k.as_str(), p.line)).collect();
    assert_eq!(names, vec![("c", 4), ("a", 5)]);
}

#[test]
fn hostile_documents_are_refused_quickly() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = load(&bomb).unwrap_err();
    assert!(e.message.contains("alias"), "{e}");
    let deep = "[".repeat(1000) + &"]".repeat(1000);
    let e = load(&deep).unwrap_err();
    assert!(
        e.message.contains("nesting") || e.message.contains("recursion"),
        "{e}"
    );
    assert!(
        load("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .message
            .contains("single document")
    );
    assert!(load("a: !foo x\n").is_err());
}

#[test]
fn python_reprs() {
    assert_eq!(
        v("{start: 22:00, end: '06:00'}").py_repr(),
        "{'start': 1320, 'end': '06:00'}"
    );
    assert_eq!(py_float_repr(1e16), "1e+16");
    assert_eq!(py_float_repr(2.5), "2.5");
    assert_eq!(py_float_repr(1e-5), "1e-05");
}
