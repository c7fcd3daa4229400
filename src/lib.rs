//! drlease: a DR lease sidecar. See README.md for what it does and how to run it.
//!
//! Layers, each importing only from those listed before it:
//! - `sys`: small OS helpers (clocks, durations, tokens, the file limit, logging);
//! - `lease`: the pure lease logic, every rule of the promise (the core, its timing, the
//!   role rule and the gate, the item record and its conditions): the crate
//!   `drlease-core`, which Cargo keeps free of I/O and of every layer here;
//! - `store`: the `LeaseStore` trait, the memory store and DynamoDB;
//! - `config`: flags, environment and Admiral's file turned into settings;
//! - `run`: what runs the core (the lease loop, what it publishes, the eligibility probe,
//!   the heartbeat task, the deadline timer, events and metrics);
//! - `http` (the endpoints) and `ops` (operator commands), side by side;
//! - `app`: the command line and the daemon's start-up and shutdown.

pub mod app;
pub mod config;
pub(crate) mod http;
pub mod ops;
pub(crate) mod run;
pub mod store;
pub mod sys;

/// The lease core, a crate of its own (`crates/drlease-core`), under the name the layers
/// use for it.
pub use drlease_core as lease;
