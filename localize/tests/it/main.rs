//! Localization against a scripted in-process model and the fixture repository `tests/fixtures/shop`.

mod answers;
mod parity;
mod run;
mod support;
