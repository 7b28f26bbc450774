//! The jsonpath2 dialect, as verified against jsonpath2 0.4.5.

use super::*;
use serde_json::json;

fn find(p: &str, doc: &Value) -> Vec<Value> {
    Path::parse(p).unwrap().find(doc)
}

#[test]
fn members_wildcards_indexes_slices() {
    let d = json!({"a": {"b": [1, 2, 3]}, "c": "x"});
    assert_eq!(find("$.a.b[0]", &d), [json!(1)]);
    assert_eq!(find("$.a.b[-1]", &d), [json!(3)]);
    assert_eq!(find("$.a.b[0:2]", &d), [json!(1), json!(2)]);
    assert_eq!(find("$.a.b[*]", &d), [json!(1), json!(2), json!(3)]);
    assert_eq!(find("$[\"c\"]", &d), [json!("x")]);
    assert_eq!(find("$..b[1]", &d), [json!(2)]);
    assert_eq!(find("$.a.b[0,2]", &d), [json!(1), json!(3)]);
}

#[test]
fn a_filter_tests_the_current_node() {
    let d = json!({"items": [{"id": 1}, {"id": 2}], "arr": [1, 2, 3], "foo": {"baz": "hello"}});
    assert!(find("$.items[?(@.id = 1)]", &d).is_empty());
    assert_eq!(find("$.items.*[?(@.id = 1)].id", &d), [json!(1)]);
    assert_eq!(find("$.foo[?(@.baz)].baz", &d), [json!("hello")]);
    assert!(find("$.arr[?(@ > 1)]", &d).is_empty());
    assert_eq!(find("$.arr.*[?(@ > 1)]", &d), [json!(2), json!(3)]);
    assert_eq!(
        find("$.items.*[?(@.id > 1 and not @.id = 3)].id", &d),
        [json!(2)]
    );
}

#[test]
fn what_jsonpath2_refuses() {
    assert!(Path::parse("$.items.*[?(@.id == 1)]").is_err());
    assert!(Path::parse("foo[*].baz").is_err());
    assert!(Path::parse("$[[[").is_err());
}
