//! Release channels: a manifest of releases (read from a file or HTTPS) and which one a
//! service should run.

pub mod fetch;
pub mod manifest;
pub mod package;

pub use manifest::{Judged, Manifest, Release, Running, judge};
