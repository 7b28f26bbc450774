//! Reading suite runs back from a store: which runs there are (a run
//! without its manifest is incomplete and said so), one run's report, and
//! two runs side by side.

use crate::report::Summary;
use crate::runner::RunLocation;
use crate::store::{Store, StoreError};

/// One run found in a store.
#[derive(Clone)]
pub struct Listed {
    /// Where it is.
    pub location: RunLocation,
    /// Suite name.
    pub suite: String,
    /// Run id.
    pub run_id: String,
    /// The manifest's verdict; `None` while incomplete (running, stopped
    /// or cut short).
    pub verdict: Option<String>,
}

/// Every run under the store (optionally of one suite), oldest first.
pub async fn list(store: &Store, suite: Option<&str>) -> Result<Vec<Listed>, StoreError> {
    let keys = store.list(suite.unwrap_or("")).await?;
    let mut out = Vec::new();
    for (k, _) in &keys {
        let parts: Vec<&str> = k.split('/').collect();
        if parts.len() != 3 || parts[2] != "state.json" {
            continue;
        }
        let dir = format!("{}/{}", parts[0], parts[1]);
        let verdict = match store.get(&format!("{dir}/manifest.json")).await? {
            Some(b) => serde_json::from_slice::<serde_json::Value>(&b)
                .ok()
                .and_then(|m| m["verdict"].as_str().map(str::to_string)),
            None => None,
        };
        out.push(Listed {
            location: RunLocation {
                store: store.clone(),
                dir,
            },
            suite: parts[0].to_string(),
            run_id: parts[1].to_string(),
            verdict,
        });
    }
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    Ok(out)
}

/// A run's suite report (complete runs have one).
pub async fn summary(at: &RunLocation) -> Result<Option<Summary>, StoreError> {
    let key = format!("{}/suite-report.json", at.dir);
    Ok(at
        .store
        .get(&key)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Two runs' experiments side by side, as text lines.
pub fn compare(a: &Summary, b: &Summary) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<24} {:>16} {:>16} {:>10} {:>10} {:>9} {:>9}",
        "experiment", "verdict A", "verdict B", "p95 A", "p95 B", "err A", "err B"
    )];
    let names: Vec<&String> = a
        .items
        .iter()
        .map(|i| &i.name)
        .chain(b.items.iter().map(|i| &i.name))
        .fold(Vec::new(), |mut v, n| {
            if !v.contains(&n) {
                v.push(n);
            }
            v
        });
    let ms = |v: Option<f64>| {
        v.map(|v| format!("{v:.1} ms"))
            .unwrap_or_else(|| "-".into())
    };
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.2}%", v * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    for n in names {
        let x = a.items.iter().find(|i| &i.name == n);
        let y = b.items.iter().find(|i| &i.name == n);
        let verdict = |i: Option<&crate::report::ItemSummary>| {
            i.map(|i| {
                i.verdict
                    .clone()
                    .unwrap_or_else(|| i.status.as_str().to_string())
            })
            .unwrap_or_else(|| "-".into())
        };
        lines.push(format!(
            "{:<24} {:>16} {:>16} {:>10} {:>10} {:>9} {:>9}",
            n,
            verdict(x),
            verdict(y),
            ms(x.and_then(|i| i.p95_ms)),
            ms(y.and_then(|i| i.p95_ms)),
            pct(x.and_then(|i| i.error_rate)),
            pct(y.and_then(|i| i.error_rate)),
        ));
    }
    lines
}
