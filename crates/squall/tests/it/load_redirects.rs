//! Redirects and cookies against Debian's nginx: followed by default on the
//! same origin (each chain one request in the figures, every hop in nginx's
//! log), a login's cookie carried through its 303 and on to later requests,
//! `--no-redirects` and `max_redirects`, `cookies: false`, and a redirect
//! to another origin left as the response.

use std::time::Duration;

use crate::nginx::Nginx;
use crate::util::*;

/// Runs `squall load PLAN -q` and answers the JSON output's summary.
fn load_plan(plan: &std::path::Path, json: &std::path::Path) -> serde_json::Value {
    let out = run(
        &[
            "load",
            plan.to_str().unwrap(),
            "-q",
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    stats_of(json)
}

/// The JSON output's summary.
fn stats_of(json: &std::path::Path) -> serde_json::Value {
    read_json(json)["summary"].clone()
}

const SITE: &str = "\
location = /old { return 302 /new; }\n\
location = /new { return 200 \"new\"; }\n\
location = /login { add_header Set-Cookie \"session=s3cr3t; Path=/; HttpOnly\"; return 303 /home; }\n\
location = /home { if ($cookie_session = \"s3cr3t\") { return 200 \"welcome\"; } return 401 \"who are you\"; }\n\
location = /loop { return 302 /loop; }\n\
location = /away { return 302 http://127.0.0.1:9/elsewhere; }\n";

fn plan(base: &str, extra: &str) -> String {
    format!(
        "base_url: {base}\n{extra}\
         scenarios:\n  - name: s\n    steps:\n\
         \x20     - request: {{name: old, url: /old}}\n        checks: [{{body_contains: new}}]\n\
         \x20     - request: {{name: login, method: POST, url: /login, body: 'user=a'}}\n        checks: [{{body_contains: welcome}}]\n\
         \x20     - request: {{name: home again, url: /home}}\n        checks: [{{status: 200}}]\n\
         load: {{model: iterations, iterations: 5, vus: 1, max_duration: 20s}}\n"
    )
}

#[test]
fn redirects_are_followed_and_cookies_kept_per_user() {
    let dir = tempdir();
    let nginx = Nginx::start_with(dir.path(), SITE);
    let json = dir.path().join("out.json");
    let p = write(dir.path(), "plan.yaml", &plan(&nginx.url, ""));
    let s = load_plan(&p, &json);
    // Three requests per iteration in the figures, five hops in nginx's log.
    assert_eq!(s["overall"]["requests"], 15, "{s}");
    assert_eq!(s["overall"]["failed"], 0, "{s}");
    assert_eq!(nginx.served(), 25);
    assert_eq!(nginx.served_matching("GET /new "), 5);
    assert_eq!(
        nginx.served_matching("GET /home "),
        10,
        "after the 303 and on its own"
    );
    assert_eq!(
        nginx.served_matching("\"GET /home HTTP/1.1\" 401"),
        0,
        "the cookie went along"
    );

    // Without the jar the login's cookie is lost: the check fails.
    let second = dir.path().join("b");
    std::fs::create_dir_all(&second).unwrap();
    let nginx = Nginx::start_with(&second, SITE);
    let p = write(
        dir.path(),
        "nojar.yaml",
        &plan(&nginx.url, "cookies: false\n"),
    );
    let s = load_plan(&p, &json);
    assert_eq!(
        s["overall"]["errors"]["status"], 10,
        "home answers 401: {s}"
    );

    // A loop stops at max_redirects; the last 3xx is the response.
    let p = write(
        dir.path(),
        "loop.yaml",
        &format!(
            "base_url: {}\nmax_redirects: 3\nscenarios:\n  - name: s\n    steps:\n      - request: {{url: /loop}}\nload: {{model: iterations, iterations: 2, vus: 1, max_duration: 20s}}\n",
            nginx.url
        ),
    );
    let before = nginx.served();
    let s = load_plan(&p, &json);
    assert_eq!(nginx.served() - before, 8, "the request and 3 hops, twice");
    assert_eq!(s["overall"]["statuses"]["302"], 2);
}

#[test]
fn flags_turn_following_off_and_other_origins_are_not_followed() {
    let dir = tempdir();
    let nginx = Nginx::start_with(dir.path(), SITE);
    let json = dir.path().join("out.json");
    let quick = |url: &str, extra: &[&str]| {
        let mut args = vec!["load", url, "-n", "10", "-c", "1", "-q", "--out"];
        let out_arg = format!("json={}", json.display());
        args.push(&out_arg);
        args.extend_from_slice(extra);
        let out = run(&args, Duration::from_secs(30));
        (out, stats_of(&json))
    };
    let old = format!("{}/old", nginx.url);
    let (out, s) = quick(&old, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        s["overall"]["statuses"]["200"], 10,
        "followed by default: {s}"
    );
    assert_eq!(nginx.served(), 20);
    let (out, s) = quick(&old, &["--no-redirects"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(s["overall"]["statuses"]["302"], 10, "{s}");
    assert_eq!(nginx.served(), 30);
    let (_, s) = quick(&old, &["--max-redirects", "0"]);
    assert_eq!(s["overall"]["statuses"]["302"], 10, "{s}");
    let (out, s) = quick(&format!("{}/away", nginx.url), &[]);
    assert_eq!(s["overall"]["statuses"]["302"], 10, "{s}");
    assert!(
        text(&out).contains("a redirect to another origin is not followed"),
        "{}",
        text(&out)
    );
    // A plan says it itself: the flags are refused with it.
    let p = write(dir.path(), "plan.yaml", &plan(&nginx.url, ""));
    let out = run(
        &["load", p.to_str().unwrap(), "-q", "--no-redirects"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("max_redirects"), "{}", text(&out));
}
