//! The events of a run as clients see them: an SSE event name and a JSON
//! payload, made from the engine's progress events. The same names are
//! stored, replayed and documented in `docs/serve.md`.

use serde_json::{Value, json};
use squall_executor::event::Event;

/// An event before it gets its number.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// SSE event name.
    pub name: &'static str,
    /// Payload.
    pub data: Value,
}

/// The client-facing form of an engine event.
pub fn from_engine(e: &Event) -> Outgoing {
    match e {
        Event::Second { phase, row } => Outgoing {
            name: "second",
            data: {
                let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("phase".into(), phase.clone().into());
                    if row.requests == 0 {
                        // No request, no latency: null, never a made-up 0.
                        for k in ["p50_ms", "p95_ms", "p99_ms"] {
                            o.insert(k.into(), Value::Null);
                        }
                    }
                }
                v
            },
        },
        Event::Warning(text) => Outgoing {
            name: "warning",
            data: json!({ "text": text }),
        },
        Event::Note { t, kind, text } => Outgoing {
            name: kind.as_str(),
            data: json!({ "t": t, "text": text }),
        },
        Event::Fault { t, fault, active } => {
            let (kind, text) = squall_executor::event::fault_note(fault, *active);
            Outgoing {
                name: kind.as_str(),
                data: json!({
                    "t": t,
                    "text": text,
                    "fault": fault.name,
                    "type": fault.kind,
                    "target": fault.target,
                    "planned_start_s": fault.planned_start_s,
                    "planned_end_s": fault.planned_end_s,
                    "injected_s": fault.injected_s,
                    "reverted_s": fault.reverted_s,
                    "error": fault.error,
                }),
            }
        }
        Event::Goals { t, goals } => Outgoing {
            name: "goals",
            data: json!({ "t": t, "goals": goals }),
        },
        Event::RunDir(dir) => Outgoing {
            name: "running",
            data: json!({ "dir": dir.display().to_string() }),
        },
    }
}
