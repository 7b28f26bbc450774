//! `--out influxdb=URL` against Debian's InfluxDB server, started by the
//! test: every point written is queried back; a database that cannot be
//! reached neither holds up nor changes the load, and the points it missed
//! are counted.

use std::time::Duration;

use crate::influx_util::Influx;

use crate::util::*;

#[test]
fn every_point_written_is_queried_back() {
    let Some(influx) = Influx::start() else {
        panic!("Debian's influxdb is needed (apt-get install influxdb; .ci/run installs it)");
    };
    influx.query("CREATE DATABASE squall");
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "50",
            "-d",
            "3s",
            "-q",
            "--out",
            &format!("influxdb={}/squall", influx.base),
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = read_json(&json);
    let total = doc["summary"]["overall"]["requests"].as_u64().unwrap();
    let seconds = doc["seconds"].as_array().unwrap().len() as u64;
    assert_eq!(total, srv.requests());
    // The end says what was written.
    let stderr = String::from_utf8_lossy(&out.stderr);
    // One overall, one per name and one generator line per second.
    let points = seconds * 3;
    assert!(
        stderr.contains(&format!("{points} points written, 0 dropped")),
        "{stderr}"
    );
    let sum = influx.query("SELECT sum(\"requests\") FROM squall_http WHERE \"name\" = 'all'");
    assert_eq!(
        sum["results"][0]["series"][0]["values"][0][1], total,
        "{sum}"
    );
    let n = influx.query("SELECT count(\"vus\") FROM squall_generator");
    assert_eq!(n["results"][0]["series"][0]["values"][0][1], seconds, "{n}");
}

#[test]
fn an_unreachable_database_neither_holds_up_nor_changes_the_load() {
    let srv = TestServer::start(Behaviour::default());
    let dir = tempdir();
    let json = dir.path().join("out.json");
    let nobody = free_port();
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--rate",
            "50",
            "-d",
            "2s",
            "-q",
            "--out",
            &format!("influxdb=http://127.0.0.1:{nobody}/squall"),
            "--out",
            &format!("json={}", json.display()),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = read_json(&json);
    assert_eq!(
        doc["summary"]["overall"]["requests"].as_u64().unwrap(),
        srv.requests()
    );
    assert_eq!(
        doc["summary"]["iterations"]["dropped"], 0,
        "the load was not held up"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 points written"), "{stderr}");
    assert!(
        stderr.contains("Connection refused") || stderr.contains("connection"),
        "{stderr}"
    );
    // A URL that cannot name a database is refused before the run.
    let out = run(
        &[
            "load",
            &srv.url("/"),
            "--out",
            "influxdb=http://127.0.0.1:1",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("name the database"), "{}", text(&out));
}
