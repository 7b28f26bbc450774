//! `squall proxy`: TCP proxies with Toxiproxy's toxics, kept in a registry
//! that Toxiproxy's HTTP API drives. Every toxic and every disabled proxy is
//! a lease in the injector, so it ends by itself at its deadline.

mod instance;
mod link;
mod segments;
pub mod toxic;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

pub use instance::{Proxy, ProxyView, ordered};
pub use link::Traffic;
use toxic::{Toxic, ToxicKind, ToxicRequest, ToxicView, check_toxicity, parse_stream};

use crate::error::FaultError;
use crate::lease::{Injector, LeaseInfo, Recovery, Undo};

/// Body of `POST /proxies`, `POST /populate` entries and proxy updates.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct ProxyRequest {
    /// Unique name.
    pub name: Option<String>,
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// `host:port` to forward to.
    pub upstream: Option<String>,
    /// Down when false.
    pub enabled: Option<bool>,
}

/// Registry settings.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// Lease of a toxic added without `ttl_ms`, and of a disabled proxy.
    pub default_lease: Duration,
    /// Whether a proxy may listen on an address other than loopback.
    pub allow_remote_listen: bool,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            default_lease: Duration::from_secs(3600),
            allow_remote_listen: false,
        }
    }
}

/// All proxies of one `squall proxy` server.
pub struct Proxies {
    map: Mutex<BTreeMap<String, Arc<Proxy>>>,
    /// Lease id of each disabled proxy.
    down: Mutex<BTreeMap<String, String>>,
    injector: Arc<Injector>,
    options: ProxyOptions,
    uid: AtomicU64,
    me: Weak<Proxies>,
}

impl Proxies {
    /// An empty registry whose faults are leases in `injector`.
    pub fn new(injector: Arc<Injector>, options: ProxyOptions) -> Arc<Self> {
        Arc::new_cyclic(|me| Proxies {
            map: Mutex::new(BTreeMap::new()),
            down: Mutex::new(BTreeMap::new()),
            injector,
            options,
            uid: AtomicU64::new(1),
            me: me.clone(),
        })
    }

    /// The injector holding this registry's leases.
    pub fn injector(&self) -> &Arc<Injector> {
        &self.injector
    }

    fn find(&self, name: &str) -> Result<Arc<Proxy>, FaultError> {
        self.map
            .lock()
            .expect("proxies")
            .get(name)
            .cloned()
            .ok_or_else(|| FaultError::NotFound("proxy not found".into()))
    }

    /// Every proxy, by name.
    pub fn list(&self) -> BTreeMap<String, ProxyView> {
        let all: Vec<Arc<Proxy>> = self
            .map
            .lock()
            .expect("proxies")
            .values()
            .cloned()
            .collect();
        all.iter().map(|p| (p.name.clone(), p.view())).collect()
    }

    /// Every proxy handle (for metrics).
    pub fn all(&self) -> Vec<Arc<Proxy>> {
        self.map
            .lock()
            .expect("proxies")
            .values()
            .cloned()
            .collect()
    }

    /// One proxy.
    pub fn get(&self, name: &str) -> Result<ProxyView, FaultError> {
        Ok(self.find(name)?.view())
    }

    fn check_listen(&self, listen: &str) -> Result<(), FaultError> {
        if self.options.allow_remote_listen {
            return Ok(());
        }
        let host = listen.rsplit_once(':').map_or(listen, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            || listen
                .parse::<SocketAddr>()
                .is_ok_and(|a| a.ip().is_loopback());
        if loopback {
            Ok(())
        } else {
            Err(FaultError::invalid(
                "listen",
                format!(
                    "`{listen}` is not a loopback address; start squall proxy with --allow-remote-listen to listen elsewhere"
                ),
            ))
        }
    }

    /// Creates and starts a proxy (409 when the name is taken).
    ///
    /// Names go into the API's paths (`/proxies/NAME/toxics`), so `/`,
    /// whitespace and control characters are refused (Toxiproxy takes them
    /// and then cannot address the proxy).
    pub async fn create(&self, req: ProxyRequest) -> Result<ProxyView, FaultError> {
        let name = req
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| FaultError::invalid("name", "missing required field: name"))?;
        check_name(&name).map_err(|m| FaultError::invalid("name", m))?;
        let upstream = req
            .upstream
            .filter(|u| !u.is_empty())
            .ok_or_else(|| FaultError::invalid("upstream", "missing required field: upstream"))?;
        let listen = req
            .listen
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "127.0.0.1:0".into());
        self.check_listen(&listen)?;
        if self.map.lock().expect("proxies").contains_key(&name) {
            return Err(FaultError::Conflict("proxy already exists".into()));
        }
        let p = Proxy::start(name.clone(), listen, upstream, req.enabled.unwrap_or(true)).await?;
        let mut map = self.map.lock().expect("proxies");
        if map.contains_key(&name) {
            return Err(FaultError::Conflict("proxy already exists".into()));
        }
        map.insert(name, p.clone());
        Ok(p.view())
    }

    /// Creates the proxies that do not exist and reconfigures those that
    /// differ, as Toxiproxy's `/populate` does; nothing is changed when one
    /// entry is invalid.
    pub async fn populate(&self, reqs: Vec<ProxyRequest>) -> Result<Vec<ProxyView>, FaultError> {
        for (i, r) in reqs.iter().enumerate() {
            if r.name.as_deref().is_none_or(str::is_empty) {
                return Err(FaultError::invalid(
                    format!("[{i}].name"),
                    "missing required field: name",
                ));
            }
            if let Some(Err(m)) = r.name.as_deref().map(check_name) {
                return Err(FaultError::invalid(format!("[{i}].name"), m));
            }
            if r.upstream.as_deref().is_none_or(str::is_empty) {
                return Err(FaultError::invalid(
                    format!("[{i}].upstream"),
                    "missing required field: upstream",
                ));
            }
            if let Some(l) = &r.listen {
                self.check_listen(l)?;
            }
        }
        let mut out = Vec::new();
        for r in reqs {
            let name = r.name.clone().expect("checked");
            let existing = self.map.lock().expect("proxies").get(&name).cloned();
            match existing {
                Some(p) => {
                    let (listen, upstream, enabled) = p.config();
                    let want_listen = r.listen.clone().unwrap_or(listen.clone());
                    let want_up = r.upstream.clone().expect("checked");
                    if want_listen != listen || want_up != upstream {
                        p.reconfigure(Some(want_listen), Some(want_up)).await?;
                    }
                    if r.enabled.unwrap_or(true) != enabled {
                        self.set_enabled(&p, r.enabled.unwrap_or(true)).await?;
                    }
                    out.push(p.view());
                }
                None => out.push(self.create(r).await?),
            }
        }
        Ok(out)
    }

    /// Changes a proxy's listen address, upstream or enabled flag.
    pub async fn update(&self, name: &str, req: ProxyRequest) -> Result<ProxyView, FaultError> {
        let p = self.find(name)?;
        if let Some(l) = &req.listen {
            self.check_listen(l)?;
        }
        p.reconfigure(req.listen, req.upstream).await?;
        if let Some(e) = req.enabled {
            self.set_enabled(&p, e).await?;
        }
        Ok(p.view())
    }

    async fn set_enabled(&self, p: &Arc<Proxy>, enabled: bool) -> Result<(), FaultError> {
        if enabled {
            let lease = self.down.lock().expect("down").remove(&p.name);
            if let Some(id) = lease {
                self.injector.revert(&id);
            }
            p.enable().await
        } else {
            if self.down.lock().expect("down").contains_key(&p.name) {
                return Ok(());
            }
            self.injector.check_duration(self.options.default_lease)?;
            p.disable();
            let weak = Arc::downgrade(p);
            let me = self.me.clone();
            let name = p.name.clone();
            let lease = self.injector.grant(
                "proxy-down",
                format!("proxy {}", p.name),
                json!({"proxy": p.name}),
                self.options.default_lease,
                Recovery::DiesWithProcess,
                Undo::now(move || {
                    if let Some(me) = me.upgrade() {
                        me.down.lock().expect("down").remove(&name);
                    }
                    if let (Some(p), Ok(rt)) =
                        (weak.upgrade(), tokio::runtime::Handle::try_current())
                    {
                        rt.spawn(async move {
                            let _ = p.enable().await;
                        });
                    }
                }),
            );
            self.down
                .lock()
                .expect("down")
                .insert(p.name.clone(), lease.id);
            Ok(())
        }
    }

    /// Stops and removes a proxy with its toxics.
    pub fn delete(&self, name: &str) -> Result<(), FaultError> {
        let p = self
            .map
            .lock()
            .expect("proxies")
            .remove(name)
            .ok_or_else(|| FaultError::NotFound("proxy not found".into()))?;
        p.disable();
        if let Some(id) = self.down.lock().expect("down").remove(name) {
            self.injector.revert(&id);
        }
        for t in p.toxics().iter() {
            if let Some(l) = &t.lease {
                self.injector.revert(&l.id);
            }
        }
        Ok(())
    }

    /// Enables every proxy and removes every toxic.
    pub async fn reset(&self) -> Result<(), FaultError> {
        for p in self.all() {
            for t in p.toxics().iter() {
                if let Some(l) = &t.lease {
                    self.injector.revert(&l.id);
                }
            }
            p.set_toxics(Vec::new());
            self.set_enabled(&p, true).await?;
        }
        Ok(())
    }

    /// The toxics of a proxy.
    pub fn toxics(&self, proxy: &str) -> Result<Vec<ToxicView>, FaultError> {
        Ok(ordered(&self.find(proxy)?.toxics()))
    }

    /// One toxic.
    pub fn toxic(&self, proxy: &str, name: &str) -> Result<ToxicView, FaultError> {
        self.find(proxy)?
            .toxics()
            .iter()
            .find(|t| t.name == name)
            .map(Toxic::view)
            .ok_or_else(|| FaultError::NotFound("toxic not found".into()))
    }

    /// Adds a toxic (409 when the name is taken), as a lease.
    pub fn add_toxic(&self, proxy: &str, req: ToxicRequest) -> Result<ToxicView, FaultError> {
        let p = self.find(proxy)?;
        let kind_name = req
            .kind
            .as_deref()
            .ok_or_else(|| FaultError::invalid("type", "missing required field: type"))?;
        let kind =
            ToxicKind::from_attributes(kind_name, &req.attributes.clone().unwrap_or_default())?;
        let stream = parse_stream(req.stream.as_deref().unwrap_or("downstream"))?;
        let toxicity = check_toxicity(req.toxicity.unwrap_or(1.0))?;
        let name = req
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("{}_{}", kind.type_name(), stream.as_str()));
        if p.toxics().iter().any(|t| t.name == name) {
            return Err(FaultError::Conflict("toxic already exists".into()));
        }
        let explicit = req.ttl_ms.is_some();
        let duration = req
            .ttl_ms
            .map_or(self.options.default_lease, Duration::from_millis);
        self.injector.check_duration(duration)?;
        let toxic = self.leased_toxic(&p, name.clone(), stream, toxicity, kind, duration, explicit);
        let lease_id = toxic.lease.as_ref().expect("leased").id.clone();
        let added = p.edit_toxics(|v| {
            if v.iter().any(|t| t.name == name) {
                false
            } else {
                v.push(toxic.clone());
                true
            }
        });
        if !added {
            self.injector.revert(&lease_id);
            return Err(FaultError::Conflict("toxic already exists".into()));
        }
        Ok(toxic.view())
    }

    /// A new toxic (fresh uid) granted as a lease whose undo removes it.
    #[allow(clippy::too_many_arguments)]
    fn leased_toxic(
        &self,
        p: &Arc<Proxy>,
        name: String,
        stream: toxic::Stream,
        toxicity: f64,
        kind: ToxicKind,
        duration: Duration,
        shown: bool,
    ) -> Toxic {
        let mut t = Toxic {
            name,
            stream,
            toxicity,
            kind,
            uid: self.uid.fetch_add(1, Ordering::Relaxed),
            lease: None,
        };
        let lease = self.grant_toxic(p, &t, duration);
        t.lease = Some(toxic::LeaseTag {
            id: lease.id,
            deadline_unix_ms: lease.deadline_unix_ms,
            shown,
        });
        t
    }

    fn grant_toxic(&self, p: &Arc<Proxy>, t: &Toxic, duration: Duration) -> LeaseInfo {
        let weak = Arc::downgrade(p);
        let uid = t.uid;
        self.injector.grant(
            format!("toxic:{}", t.kind.type_name()),
            format!("proxy {}", p.name),
            json!({
                "proxy": p.name,
                "toxic": t.name,
                "stream": t.stream.as_str(),
                "toxicity": t.toxicity,
                "attributes": t.kind.attributes(),
            }),
            duration,
            Recovery::DiesWithProcess,
            Undo::now(move || {
                if let Some(p) = weak.upgrade() {
                    p.edit_toxics(|v| v.retain(|t| t.uid != uid));
                }
            }),
        )
    }

    /// Changes a toxic's attributes, toxicity or stream; its lease restarts.
    pub fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        req: ToxicRequest,
    ) -> Result<ToxicView, FaultError> {
        let p = self.find(proxy)?;
        let old = p
            .toxics()
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| FaultError::NotFound("toxic not found".into()))?;
        let kind = match &req.attributes {
            Some(attrs) => {
                // Toxiproxy merges: attributes not given keep their value.
                let mut merged = old.kind.attributes();
                merged.extend(attrs.clone());
                ToxicKind::from_attributes(old.kind.type_name(), &merged)?
            }
            None => old.kind.clone(),
        };
        if req
            .kind
            .as_deref()
            .is_some_and(|k| k != old.kind.type_name())
        {
            return Err(FaultError::invalid(
                "type",
                "a toxic's type cannot change; remove it and add another",
            ));
        }
        let stream = match &req.stream {
            Some(s) => parse_stream(s)?,
            None => old.stream,
        };
        let toxicity = check_toxicity(req.toxicity.unwrap_or(old.toxicity))?;
        let explicit = req.ttl_ms.is_some() || old.lease.as_ref().is_some_and(|l| l.shown);
        let duration = req
            .ttl_ms
            .map_or(self.options.default_lease, Duration::from_millis);
        self.injector.check_replacement(duration)?;
        let toxic = self.leased_toxic(
            &p,
            old.name.clone(),
            stream,
            toxicity,
            kind,
            duration,
            explicit,
        );
        let replaced = p.edit_toxics(|v| match v.iter_mut().find(|t| t.uid == old.uid) {
            Some(slot) => {
                *slot = toxic.clone();
                true
            }
            None => false,
        });
        // The old lease ends without touching the list (its uid is gone).
        if let Some(l) = &old.lease {
            self.injector.revert(&l.id);
        }
        if !replaced {
            if let Some(l) = &toxic.lease {
                self.injector.revert(&l.id);
            }
            return Err(FaultError::NotFound("toxic not found".into()));
        }
        Ok(toxic.view())
    }

    /// Removes a toxic (its lease ends now).
    pub fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), FaultError> {
        let p = self.find(proxy)?;
        let t = p
            .toxics()
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| FaultError::NotFound("toxic not found".into()))?;
        match &t.lease {
            Some(l) if self.injector.revert(&l.id) => {}
            _ => p.edit_toxics(|v| v.retain(|x| x.uid != t.uid)),
        }
        Ok(())
    }
}

/// A proxy name usable in the API's paths.
fn check_name(name: &str) -> Result<(), String> {
    match name
        .chars()
        .find(|c| *c == '/' || c.is_whitespace() || c.is_control())
    {
        Some(c) => Err(format!(
            "{name:?}: a proxy name cannot contain {c:?} (it goes into the API's paths)"
        )),
        None if name.len() > 200 => Err("a proxy name is at most 200 bytes".into()),
        None => Ok(()),
    }
}
