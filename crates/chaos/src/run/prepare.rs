//! Before anything runs: configuration and secrets, dynamic configuration,
//! the strategies, the experiment as the journal records it, and the opening
//! events. Kept apart from the flow because it is the only phase that can
//! fail (a configuration error means no run and no journal).

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::watch;

use super::RunOptions;
use crate::activity::Shared;
use crate::config::ConfigError;
use crate::event::Event;
use crate::provider::Context;
use crate::strategy::{HypothesisStrategy, RollbackStrategy};

/// What every later phase needs, settled once so they agree on it.
pub(super) struct Prepared {
    /// The run's context, observer and interruption count, shared with
    /// background activities and the hypothesis loop.
    pub(super) sh: Arc<Shared>,
    /// The journal's `experiment`: the document with its title substituted
    /// and `dry` set, unknown keys kept.
    pub(super) experiment: Map<String, Value>,
    /// When the hypothesis runs (before, during, after the method).
    pub(super) hypothesis: HypothesisStrategy,
    /// When the rollbacks run.
    pub(super) rollbacks: RollbackStrategy,
}

/// Loads the configuration, resolves dynamic configuration and announces
/// the run; a configuration error stops here, before any event is emitted
/// by the run itself.
pub(super) async fn prepare(
    exp: &Value,
    opts: &RunOptions,
    observer: Arc<dyn Fn(Event) + Send + Sync>,
    signals: watch::Receiver<u32>,
) -> Result<Prepared, ConfigError> {
    let scope = crate::config::load(exp, &opts.vars)?;
    let (hypothesis, rollbacks) = strategies(exp, opts);
    let mut ctx = Context {
        scope,
        env: opts.vars.env.clone(),
        python: opts.python.clone(),
    };
    super::dynamic::resolve(exp, &opts.vars, &mut ctx, &*observer).await;
    let title = crate::substitute::substitute(exp.get("title").unwrap_or(&Value::Null), &ctx.scope);
    let experiment = journal_copy(exp, &title, opts);
    let sh = Arc::new(Shared {
        ctx,
        observer,
        signals,
        dry: opts.dry,
    });
    announce(&sh, exp, &title, hypothesis, rollbacks);
    Ok(Prepared {
        sh,
        experiment,
        hypothesis,
        rollbacks,
    })
}

/// The journal keeps the document as written, but with the title people
/// saw (substituted) and the `--dry` mode, as chaoslib records them.
fn journal_copy(exp: &Value, title: &Value, opts: &RunOptions) -> Map<String, Value> {
    let mut copy = exp.as_object().cloned().unwrap_or_default();
    copy.insert("title".into(), title.clone());
    copy.insert(
        "dry".into(),
        opts.dry.map(|d| d.as_str().into()).unwrap_or(Value::Null),
    );
    copy
}

/// The opening events: what runs, under which strategies, and a warning
/// for controls, which squall ignores rather than refusing the experiment.
fn announce(
    sh: &Shared,
    exp: &Value,
    title: &Value,
    hypothesis: HypothesisStrategy,
    rollbacks: RollbackStrategy,
) {
    sh.emit(Event::Started {
        title: crate::pyrepr::py_str(title),
    });
    sh.emit(Event::Strategies {
        hypothesis: hypothesis.as_str(),
        rollbacks: rollbacks.as_str(),
    });
    if has_controls(exp) {
        sh.emit(Event::Warning(
            "controls are not supported by squall and are ignored".into(),
        ));
    }
}

/// Flags beat the experiment's `runtime` block, which beats the defaults; a
/// `runtime` block resets what it leaves out to `default` (as chaostoolkit does).
fn strategies(exp: &Value, opts: &RunOptions) -> (HypothesisStrategy, RollbackStrategy) {
    let rt = exp
        .get("runtime")
        .filter(|r| crate::python::truthy(Some(r)));
    let h = opts.hypothesis_strategy.unwrap_or_else(|| {
        rt.and_then(|r| r.pointer("/hypothesis/strategy"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    });
    let r = opts.rollback_strategy.unwrap_or_else(|| {
        rt.and_then(|r| r.pointer("/rollbacks/strategy"))
            .and_then(Value::as_str)
            .map(RollbackStrategy::from_runtime)
            .unwrap_or_default()
    });
    (h, r)
}

/// Whether the experiment or any activity declares controls.
fn has_controls(exp: &Value) -> bool {
    let in_list = |p: &str| {
        exp.pointer(p)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.get("controls").is_some()))
    };
    exp.get("controls").is_some()
        || exp.pointer("/steady-state-hypothesis/controls").is_some()
        || in_list("/method")
        || in_list("/rollbacks")
        || in_list("/steady-state-hypothesis/probes")
}
