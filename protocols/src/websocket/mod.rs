//! (websocket: being built)

pub mod cli;
pub mod fuzz;
