//! Validation: chaoslib's messages, every problem at once, located.

use super::*;
use serde_json::json;

fn messages(exp: Value) -> Vec<String> {
    validate(&exp, &Vars::default())
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_valid_experiment_has_no_issue() {
    let exp = json!({
        "title": "t", "description": "d", "tags": ["a"],
        "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "p", "tolerance": 0, "provider": {"type": "process", "path": "true"}}]},
        "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://127.0.0.1:1/"},
                    "pauses": {"after": "${p}"}},
                   {"ref": "p"}],
        "rollbacks": [{"ref": "not-checked"}]
    });
    assert_eq!(messages(exp), Vec::<String>::new());
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let exp = json!({
        "tags": ["", "ok"],
        "steady-state-hypothesis": {"probes": [
            {"type": "probe", "name": "p", "provider": {"type": "process", "path": "no-such-program-squall"}},
            {"type": "probe", "name": "q", "tolerance": {"type": "regex"}, "provider": {"type": "http"}}]},
        "method": [{"type": "nope", "provider": {"type": "go"}},
                   {"type": "action", "name": "a", "background": "yes", "timeout": "1",
                    "pauses": {"before": "soon"}, "provider": {"type": "http", "url": "u", "headers": ["x"]}},
                   {"ref": "missing"}, {}]
    });
    let m = messages(exp);
    let expect = [
        "title: experiment requires a title",
        "description: experiment requires a description",
        "tags[0]: experiment tags must be a non-empty string",
        "steady-state-hypothesis: hypothesis requires a title",
        "steady-state-hypothesis.probes[0](p).provider.path: path 'no-such-program-squall' cannot be found, in activity 'p'",
        "steady-state-hypothesis.probes[0](p): hypothesis probe must have a tolerance entry",
        "steady-state-hypothesis.probes[1](q).provider: a HTTP activity must have a URL",
        "steady-state-hypothesis.probes[1](q).tolerance: hypothesis regex probe tolerance must have a `pattern` key",
        "method[0].type: 'nope' is not a supported activity type",
        "method[0]: an activity must have a name",
        "method[0].provider.type: unknown provider type 'go'",
        "method[1](a).timeout: activity timeout must be a number",
        "method[1](a).pauses.before: activity before pause must be a number or a pattern to a variable from the configuration or secrets",
        "method[1](a).background: activity background must be a boolean",
        "method[1](a).provider.headers: a HTTP activities expect headers as a mapping",
        "method[2]: referenced activity 'missing' could not be found in the experiment",
        "method[3]: empty activity is no activity",
    ];
    assert_eq!(m, expect);
}

#[test]
fn empty_and_methodless_experiments() {
    assert_eq!(
        messages(json!({})),
        ["an empty experiment is not an experiment"]
    );
    assert_eq!(
        messages(json!({"title": "t", "description": "d"})),
        [
            "method: an experiment requires a method, which can be empty for only checking steady state hypothesis "
        ]
    );
}

#[test]
fn env_configuration_and_secrets_are_checked() {
    let m = messages(json!({"title": "t", "description": "d", "method": [],
        "configuration": {"x": {"type": "env", "key": "SQUALL_UNSET_A"}},
        "secrets": {"s": {"k": {"type": "env", "key": "SQUALL_UNSET_B"}}}}));
    assert_eq!(
        m,
        [
            "configuration: Configuration makes reference to an environment key that does not exist: SQUALL_UNSET_A",
            "secrets: Secrets make reference to an environment key that does not exist: SQUALL_UNSET_B",
        ]
    );
}

#[test]
fn pauses_and_timeouts_must_be_seconds_a_run_can_wait() {
    let exp = json!({
        "title": "t", "description": "d",
        "method": [
            {"type": "action", "name": "a", "pauses": {"after": 1e300, "before": -5},
             "provider": {"type": "process", "path": "true", "timeout": "abc"}},
            {"type": "action", "name": "b", "pauses": {"after": "${p}"},
             "provider": {"type": "http", "url": "http://127.0.0.1:1/", "timeout": [1, -1]}},
            {"type": "action", "name": "c", "pauses": {"before": 0.5},
             "provider": {"type": "process", "path": "true", "timeout": "2"}}
        ]
    });
    assert_eq!(
        messages(exp),
        [
            "method[0](a).pauses.before: activity before pause must be between 0 and 31536000 seconds (a year), got -5",
            "method[0](a).pauses.after: activity after pause must be between 0 and 31536000 seconds (a year), got 1e+300",
            "method[0](a).provider.timeout: timeout must be a number of seconds, got \"abc\"",
            "method[1](b).provider.timeout[1]: timeout must be between 0 and 31536000 seconds (a year), got -1",
        ]
    );
}
