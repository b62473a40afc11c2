//! The one support module of the black-box tests (`mod common;` in each test file). Every item
//! is re-exported here, so a test file says `use common::*;` or names `common::serve`.
//!
//! - `step`: run the real binary with a clean environment, read back and validate its summary;
//!   the assertions every failure case shares.
//! - `server`: a scripted raw TCP server for faults (resets, truncation, silence, trickles).
//! - `prism`: the contract run, Prism between the binary and the fake (`PR_STATUS_CONTRACT=1`).
//! - `forge`: forge-shaped variables and answers the cross-forge suites share.
//! - `tls`: an HTTPS server whose certificate comes from a CA made for the test.
//! - `props`: the property tests' harness, strategies and table oracles (`use common::props::*`).
//! - `holding`: a server that holds one answer until others arrived (round trips), `sent`.
//! - `child`: the binary as a child process (to kill it), and cases run side by side.
#![allow(dead_code, unused_imports)]

pub mod child;
pub mod forge;
pub mod holding;
pub mod prism;
pub mod props;
pub mod server;
pub mod step;
pub mod tls;

pub use child::*;
pub use forge::*;
pub use holding::*;
pub use prism::*;
pub use server::*;
pub use step::*;
pub use tls::*;

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
/// A token distinctive enough to search every output for.
pub const TOKEN: &str = "tok-SECRET-5f0e1d2c3b4a";
