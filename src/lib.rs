//! drlease: a DR lease sidecar. See README.md for what it does and how to run it.
//!
//! Layout: `lease` is the pure decision core; `lease_loop` drives it against a `store`;
//! `state` carries what the loop decides to the `http` layer, whose role answers go
//! through the `gate` (write windows); `config` and `cli` turn
//! flags, environment and Admiral's file into settings, whose `timing` holds every timing
//! relation; `daemon` wires it all together.

pub mod app_health;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod duration;
pub mod events;
pub mod fd_limit;
pub mod gate;
pub mod heartbeat_task;
pub mod http;
pub mod lease;
pub mod lease_loop;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod printable;
pub mod state;
pub mod store;
pub mod timing;
pub mod token;
