//! The Grafana dashboard of `squall run`, checked against the real parts
//! it names: the JSON read by the Grafana Foundation SDK's dashboard model,
//! every panel's and annotation's InfluxQL run by Debian's InfluxDB on the
//! run's own `metrics.influx`, the comparison row's time shift landing on
//! the earlier run's seconds, and the provisioning directory's YAML.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::influx_util::Influx;
use crate::run::{experiment, run_exp};
use crate::sim_util::*;
use crate::util::*;

/// Every InfluxQL query of a dashboard, with its panel's title and time shift.
fn queries(d: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> = d["panels"].as_array().unwrap().iter().collect();
    let nested: Vec<&serde_json::Value> = panels
        .iter()
        .flat_map(|p| p["panels"].as_array().into_iter().flatten())
        .collect();
    panels.extend(nested);
    for p in panels {
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(q) = t["query"].as_str() {
                out.push((
                    p["title"].as_str().unwrap().to_string(),
                    q.to_string(),
                    p["timeShift"].as_str().map(str::to_string),
                ));
            }
        }
    }
    out
}

fn runs_in(runs: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("report.json").exists())
        .collect();
    dirs.sort_by_key(|d| read_json(&d.join("report.json"))["started_unix_ms"].as_u64());
    dirs
}

#[test]
fn the_dashboard_reads_its_run_and_compares_with_the_one_before() {
    let dir = tempdir();
    let sim = Sim::start(
        &write(dir.path(), "t.yaml", "services:\n  - {name: a}\n"),
        &[],
    );
    let a = sim.url("a").to_string();
    let exp = experiment(
        dir.path(),
        &format!(
            "title: grafana check\n\
             workload:\n  base_url: {a}\n  scenarios: [{{name: s, steps: [{{request: {{name: home, url: /}}}}, {{request: {{name: items, url: \"/?page=items\"}}}}]}}]\n  load: {{model: open, max_vus: 10, stages: [{{rate: 20, for: 5s}}]}}\n\
             faults:\n  - {{name: slow a, at: 1s, for: 2s, fault: {{type: latency, url: \"{a}\", args: {{delay: 30}}}}}}\n\
             goals:\n  - {{metric: http_req_duration, condition: p(95)<800ms}}\n  - {{metric: http_req_failed, condition: rate<0.5}}\n"
        ),
    );
    let runs = dir.path().join("runs");
    for _ in 0..2 {
        let out = run_exp(&exp, &runs, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        std::thread::sleep(Duration::from_millis(1100));
    }
    let done = runs_in(&runs);
    assert_eq!(done.len(), 2);
    let (first, second) = (&done[0], &done[1]);
    let r1 = read_json(&first.join("report.json"));
    let r2 = read_json(&second.join("report.json"));
    let d = read_json(&second.join("grafana-dashboard.json"));

    // The provisioning directory has both runs' dashboards and YAML Grafana reads.
    let g = runs.join("grafana");
    for run in [first, second] {
        let name = run.file_name().unwrap().to_str().unwrap();
        assert!(g.join(format!("dashboards/{name}.json")).exists(), "{name}");
    }
    python_ok(
        "import sys,yaml\n\
         ds=yaml.safe_load(open(sys.argv[1])); pr=yaml.safe_load(open(sys.argv[2]))\n\
         assert ds['apiVersion']==1 and ds['datasources'][0]['type']=='influxdb', ds\n\
         assert ds['datasources'][0]['jsonData']['dbName']=='squall', ds\n\
         assert pr['providers'][0]['options']['path']==sys.argv[3], pr",
        &[
            g.join("provisioning/datasources/squall.yaml")
                .to_str()
                .unwrap(),
            g.join("provisioning/dashboards/squall.yaml")
                .to_str()
                .unwrap(),
            g.join("dashboards")
                .canonicalize()
                .unwrap()
                .to_str()
                .unwrap(),
        ],
    );

    // The Foundation SDK's model reads it: panels, thresholds, variables,
    // annotations survive its decoding and encoding.
    let sdk = python_ok(
        "import sys,json\n\
         from grafana_foundation_sdk.models.dashboard import Dashboard\n\
         from grafana_foundation_sdk.cog.encoder import JSONEncoder\n\
         raw=json.load(open(sys.argv[1]))\n\
         back=json.loads(json.dumps(Dashboard.from_json(raw), cls=JSONEncoder))\n\
         def flat(ps):\n\
         \x20   out=[]\n\
         \x20   for p in ps:\n\
         \x20       out.append(p); out.extend(p.get('panels') or [])\n\
         \x20   return out\n\
         a,b=flat(raw['panels']),flat(back['panels'])\n\
         assert [(p['type'],p['title'],p['gridPos']) for p in a]==[(p['type'],p['title'],p['gridPos']) for p in b]\n\
         for p,q in zip(a,b):\n\
         \x20   if p['type']=='timeseries':\n\
         \x20       assert p['fieldConfig']['defaults']['thresholds']==q['fieldConfig']['defaults']['thresholds'], (p,q)\n\
         \x20       assert len(p['targets'])==len(q['targets'])\n\
         \x20       assert p.get('timeShift')==q.get('timeShift')\n\
         assert [v['name'] for v in raw['templating']['list']]==[v['name'] for v in back['templating']['list']]\n\
         assert [x['name'] for x in raw['annotations']['list']]==[x['name'] for x in back['annotations']['list']]\n\
         print(len(b), back['uid'])",
        &[second.join("grafana-dashboard.json").to_str().unwrap()],
    );
    assert!(
        sdk.trim().ends_with(&format!(
            "squall{}",
            second.file_name().unwrap().to_str().unwrap()
        )),
        "{sdk}"
    );
    let latency = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Latency (from intended start)")
        .unwrap();
    assert_eq!(
        latency["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"], 800.0,
        "the goal's bound"
    );
    let errors = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Error rate")
        .unwrap();
    assert_eq!(
        errors["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"],
        0.5
    );
    let shift_s =
        (r2["started_unix_ms"].as_u64().unwrap() - r1["started_unix_ms"].as_u64().unwrap()) / 1000;
    let shift = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "shift")
        .unwrap();
    assert_eq!(shift["current"]["value"], format!("{shift_s}s"));

    // Every query runs on Debian's InfluxDB holding both runs' metrics.
    let Some(influx) = Influx::start() else {
        panic!("Debian's influxdb is needed (apt-get install influxdb; .ci/run installs it)");
    };
    influx.query("CREATE DATABASE squall");
    influx.write_file(&first.join("metrics.influx"));
    influx.write_file(&second.join("metrics.influx"));
    let from = d["time"]["from"].as_str().unwrap().to_string();
    let to = d["time"]["to"].as_str().unwrap().to_string();
    let window = |shift: u64| {
        let at = |t: &str| {
            // Grafana's $timeFilter in ms, the dashboard's range shifted back.
            let s = python_ok(
                "import sys,datetime\nprint(int(datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')).timestamp()*1000))",
                &[t],
            );
            s.trim().parse::<u64>().unwrap() - shift * 1000
        };
        format!("time >= {}ms and time <= {}ms", at(&from), at(&to))
    };
    let mut checked = 0;
    for (title, q, time_shift) in queries(&d) {
        let shift = time_shift.map_or(0, |_| shift_s);
        let q = q
            .replace("$timeFilter", &window(shift))
            .replace("/^$name$/", "/^home$/");
        let v = influx.query(&q);
        let series = &v["results"][0]["series"];
        assert!(v["results"][0]["error"].is_null(), "{title}: {q}: {v}");
        let values: Vec<f64> = series[0]["values"]
            .as_array()
            .unwrap_or_else(|| panic!("{title}: no data for {q}: {v}"))
            .iter()
            .filter_map(|row| row[1].as_f64())
            .collect();
        assert!(!values.is_empty(), "{title}: {q}");
        checked += 1;
    }
    assert!(
        checked >= 20,
        "main, per-name and shifted panels: {checked}"
    );
    // The twins of the comparison row read the first run's seconds.
    let twin_sum = influx.query(&format!(
        "SELECT sum(\"requests\") FROM \"squall_http\" WHERE \"name\" = 'all' AND {}",
        window(shift_s)
    ));
    assert_eq!(
        twin_sum["results"][0]["series"][0]["values"][0][1].as_f64(),
        r1["phases"][0]["requests"].as_f64(),
        "the shifted window holds exactly the earlier run"
    );

    // The fault annotation: one region, from injection to revert.
    let anno = d["annotations"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Faults")
        .unwrap();
    let q = anno["query"]
        .as_str()
        .unwrap()
        .replace("$timeFilter", &window(0));
    let v = influx.query(&q);
    let rows = v["results"][0]["series"][0]["values"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    let cols: Vec<&str> = v["results"][0]["series"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let col = |name: &str| &rows[0][cols.iter().position(|c| *c == name).unwrap()];
    assert_eq!(col("title"), "slow a");
    assert_eq!(col("type"), "latency");
    let fault = &r2["faults"][0];
    let started = r2["started_unix_ms"].as_f64().unwrap();
    let end_ms = col("end_ms").as_f64().unwrap();
    let want = started + fault["reverted_s"].as_f64().unwrap() * 1000.0;
    assert!((end_ms - want).abs() <= 1.0, "{end_ms} vs {want}");
}
