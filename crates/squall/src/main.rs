//! The `squall` binary: argument parsing, wiring and exit codes. Logic lives
//! in the library crates; this crate only renders and decides how to exit.

mod chaos_log;
mod cli;
mod cmd;
mod demo_target;
mod door;
mod exit;
mod fault_table;
mod metrics_server;
mod progress;
mod signals;
mod summary_table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The proxy carries other programs' traffic: it gets every core. Other
    // commands do their heavy work on threads of their own.
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match cli.command {
        cli::Command::Proxy(ref a) => a.threads.unwrap_or_else(cores),
        // A service answers many clients; its runs' load engines have
        // threads of their own.
        cli::Command::Serve(_) => cores(),
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
            cli::Command::Load(args) => cmd::load::run(*args).await,
            cli::Command::Sim(c) => cmd::sim::run(c).await,
            cli::Command::Run(args) => cmd::run::run(args).await,
            cli::Command::Demo(args) => cmd::run::demo(args).await,
            cli::Command::Serve(args) => cmd::serve::run(args).await,
            cli::Command::Chaos(c) => cmd::chaos::run(c).await,
            cli::Command::Suite(c) => cmd::suite::run(c).await,
            cli::Command::Generator(args) => cmd::fleet::generator(args).await,
            cli::Command::Fleet(c) => cmd::fleet::fleet(c).await,
            cli::Command::Proxy(args) => cmd::fault::proxy(args).await,
            cli::Command::Fault(c) => cmd::fault::fault(c).await,
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
