//! One module per command.

pub mod action;
pub mod docs;
pub mod index;
pub mod localize;
pub mod repair;
pub mod run;
pub mod sandbox;
pub mod skeleton;
pub mod swebench;
