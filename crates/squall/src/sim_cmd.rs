//! `squall sim`: start a topology and serve until Ctrl-C, or validate one.

use std::path::Path;

use anyhow::{Context, Result};
use squall_sim::{SimOptions, Topology};

use crate::cli::SimCommand;
use crate::exit::{self, InvalidInput};

/// The built-in shop topology.
pub const SHOP: &str = include_str!("../assets/shop.yaml");

pub async fn run(cmd: SimCommand) -> Result<u8> {
    match cmd {
        SimCommand::Validate { topology } => {
            let t = Topology::load(&topology).map_err(|e| InvalidInput(e.to_string()))?;
            println!("{}: ok, {} services", topology.display(), t.services.len());
            Ok(exit::OK)
        }
        SimCommand::Up(args) => {
            let topology = if args.demo {
                Topology::parse(Path::new("<shop topology>"), SHOP)
                    .map_err(|e| InvalidInput(e.to_string()))?
            } else {
                let path = args
                    .topology
                    .as_deref()
                    .expect("clap requires a topology unless --demo");
                Topology::load(path).map_err(|e| InvalidInput(e.to_string()))?
            };
            let opts = SimOptions {
                bind: args.bind,
                seed: args.seed,
                control: args.control,
            };
            let sim = squall_sim::up(&topology, &opts)
                .await
                .context("cannot start the topology")?;
            println!(
                "squall sim: {} services (seed {})",
                sim.services.len(),
                args.seed
            );
            for (name, addr) in &sim.services {
                println!("  {name:<16} http://{addr}/");
            }
            println!(
                "  {:<16} http://{}/  (GET /services, GET /health, POST /tree, /services/NAME/faults)",
                "control", sim.control
            );
            crate::signals::StopSignals::new().next().await;
            eprintln!("squall sim: stopping; every persistent fault is cleared");
            sim.shutdown();
            Ok(exit::OK)
        }
    }
}
