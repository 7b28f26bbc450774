//! Integration tests: the real `squall` binary against real HTTP servers on 127.0.0.1.

mod fault_util;
mod influx_util;
mod nginx;
mod prometheus_util;
mod serve_util;
mod sim_util;
mod util;

mod chaos;
mod fault;
mod fleet;
mod grafana;
mod influxdb;
mod load_errors;
mod load_model;
mod load_outputs;
mod load_plan;
mod load_redirects;
mod misarch;
mod misarch_frontend;
mod proxy;
mod run;
mod run_prometheus;
mod run_trust;
mod serve;
mod sim;
mod sim_microsim;
mod sim_misarch;
mod sim_modes;
mod suite;
mod ui;
