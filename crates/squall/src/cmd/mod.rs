//! One module per subcommand, each with its clap arguments and its `run`
//! (as mini-redis's `cmd/`): what the command reads, what it wires
//! together, what it prints and which exit code it picks.

pub mod chaos;
pub mod fault;
pub mod load;
pub mod run;
pub mod sim;
