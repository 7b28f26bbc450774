//! One module per subcommand, each with its clap arguments and its `run`
//! (as mini-redis's `cmd/`): what the command reads, what it wires
//! together, what it prints and which exit code it picks.

pub(crate) mod chaos;
pub(crate) mod fault;
pub(crate) mod fleet;
pub(crate) mod load;
pub(crate) mod load_generator;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod sim;
pub(crate) mod suite;
