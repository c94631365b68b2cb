//! Release channels: a manifest of releases (read from a file or HTTPS) and which one a
//! service should run ([`service`] looks at one, read-only).

pub mod error;
pub mod fetch;
pub mod manifest;
pub mod package;
pub mod service;

pub use manifest::{Judged, Manifest, Release, Running, judge};
