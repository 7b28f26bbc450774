//! The `squall` binary: argument parsing, wiring and exit codes. Logic lives
//! in the library crates; this crate only renders and decides how to exit.

mod chaos_cmd;
mod chaos_log;
mod cli;
mod demo_target;
mod door;
mod exit;
mod fault_cmd;
mod fault_table;
mod load_cmd;
mod metrics_server;
mod progress;
mod run_cmd;
mod signals;
mod sim_cmd;
mod summary_table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The proxy carries other programs' traffic: it gets every core. Other
    // commands do their heavy work on threads of their own.
    let workers = match cli.command {
        cli::Command::Proxy(ref a) => a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        _ => 1,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("squall: cannot start the runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            cli::Command::Load(args) => load_cmd::run(args).await,
            cli::Command::Sim(cmd) => sim_cmd::run(cmd).await,
            cli::Command::Run(args) => run_cmd::run(args).await,
            cli::Command::Demo(args) => run_cmd::demo(args).await,
            cli::Command::Chaos(cmd) => chaos_cmd::run(cmd).await,
            cli::Command::Proxy(args) => fault_cmd::proxy(args).await,
            cli::Command::Fault(cmd) => fault_cmd::fault(cmd).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("squall: {e:#}");
            let code = if e.downcast_ref::<exit::InvalidInput>().is_some() {
                exit::INVALID_INPUT
            } else {
                exit::ERROR
            };
            ExitCode::from(code)
        }
    }
}
