//! The top: the command line and the daemon's start-up and shutdown.

pub mod cli;
pub mod daemon;
