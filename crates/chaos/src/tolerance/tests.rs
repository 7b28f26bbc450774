//! Tolerance cases, ported from the behaviour recorded against chaoslib 1.44.

use super::*;
use serde_json::json;

fn met(tol: Value, v: Value) -> bool {
    match within(&tol, &v).unwrap() {
        Verdict::Met(b) => b,
        Verdict::Probe(_) => panic!("probe verdict"),
    }
}

fn http(status: u16, body: Value) -> Value {
    json!({"status": status, "headers": {}, "body": body})
}

#[test]
fn bools_ints_and_strings_follow_python_equality() {
    assert!(met(json!(true), json!(true)));
    assert!(met(json!(true), json!(1)));
    assert!(!met(json!(true), http(200, json!(""))));
    assert!(met(json!(200), http(200, json!(""))));
    assert!(met(
        json!(0),
        json!({"status": 0, "stdout": "", "stderr": ""})
    ));
    assert!(met(json!(1), json!(true)));
    assert!(met(json!(1), json!(1.0)));
    assert!(!met(json!("0"), json!({"status": 0})));
    assert!(met(json!("ok"), json!("ok")));
    assert!(!met(json!("ok"), json!("ok\n")));
}

#[test]
fn lists_are_membership_for_a_status_and_a_range_when_two_long() {
    assert!(met(json!([200, 299]), http(200, json!(""))));
    assert!(!met(json!([200, 299]), http(250, json!(""))));
    assert!(met(json!([1, 10]), json!(5)));
    assert!(met(json!([1, 10]), json!(10)));
    assert!(!met(json!([1, 10]), json!(11)));
    assert!(met(json!([1, 5, 10]), json!(5)));
    assert!(!met(json!([1, 5, 10]), json!(6)));
    assert!(met(json!(["a", "c"]), json!("b")));
    assert!(within(&json!([1, 10]), &json!("x")).is_err());
}

#[test]
fn regex_with_and_without_target() {
    let t = json!({"type": "regex", "pattern": "^he..o", "target": "body"});
    assert!(met(t.clone(), http(200, json!("hello world"))));
    assert!(!met(t, http(200, json!("bye"))));
    assert!(met(
        json!({"type": "regex", "pattern": "[0-9]+"}),
        json!("abc 42")
    ));
    assert!(
        within(
            &json!({"type": "regex", "pattern": "x"}),
            &http(200, json!("x"))
        )
        .is_err()
    );
}

#[test]
fn jsonpath_with_expect_and_count() {
    let body = json!({"items": [{"id": 1}, {"id": 2}]});
    let t = |extra: Value| {
        let mut m = json!({"type": "jsonpath", "path": "$.items[*].id", "target": "body"});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    assert!(met(t(json!({})), http(200, body.clone())));
    assert!(met(t(json!({"expect": [1, 2]})), http(200, body.clone())));
    assert!(!met(t(json!({"expect": [2, 1]})), http(200, body.clone())));
    assert!(met(t(json!({"count": 2})), http(200, body.clone())));
    assert!(!met(t(json!({"count": 3})), http(200, body.clone())));
    let one = json!({"type": "jsonpath", "path": "$.items.*[?(@.id = 2)].id", "expect": 2, "target": "body"});
    assert!(met(one, http(200, body)));
    let stdout = json!({"type": "jsonpath", "path": "$.ok", "expect": true, "target": "stdout"});
    assert!(met(
        stdout,
        json!({"status": 0, "stdout": "{\"ok\": true}\n", "stderr": ""})
    ));
}

#[test]
fn ranges_read_numbers_and_numeric_strings() {
    let t = json!({"type": "range", "range": [200, 299], "target": "status"});
    assert!(met(t, http(204, json!(""))));
    let t = json!({"type": "range", "range": [40, 45], "target": "stdout"});
    assert!(met(t.clone(), json!({"stdout": "42\n"})));
    assert!(!met(t, json!({"stdout": "many"})));
    assert!(within(&json!({"type": "range", "range": [0, 1]}), &json!(null)).is_err());
}

#[test]
fn a_probe_tolerance_gets_the_value_injected() {
    let t = json!({"type": "probe", "name": "p", "provider": {"type": "process", "path": "true", "arguments": {}}});
    match within(&t, &json!(5)).unwrap() {
        Verdict::Probe(p) => assert_eq!(p["provider"]["arguments"]["value"], json!(5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn validation_messages() {
    let mut seen = Vec::new();
    let mut add = |p: &str, m: String| seen.push(format!("{p}: {m}"));
    check("t", &json!(1.5), &mut add);
    check("t", &json!({"type": "boom"}), &mut add);
    check("t", &json!({"type": "regex"}), &mut add);
    check("t", &json!({"type": "regex", "pattern": "[0-9"}), &mut add);
    check("t", &json!({"type": "jsonpath", "path": "$[[["}), &mut add);
    check("t", &json!({"type": "range", "range": [1]}), &mut add);
    check("t", &json!({"type": "range", "range": ["a", 2]}), &mut add);
    check("t", &json!(true), &mut add);
    assert_eq!(seen.len(), 7, "{seen:#?}");
    assert!(seen[1].ends_with("hypothesis probe tolerance type 'boom' is unsupported"));
    assert!(seen[2].ends_with("must have a `pattern` key"));
    assert!(seen[3].contains("pattern [0-9 seems invalid"));
    assert!(seen[4].contains("JSON path $[[[ is invalid"));
    assert!(seen[5].ends_with("must be made of two values"));
}
