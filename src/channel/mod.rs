//! Release channels: a manifest of releases (read from a file or HTTPS) and which one a
//! service should run ([`service`] looks at one, read-only).

pub(crate) mod error;
pub(crate) mod fetch;
pub(crate) mod manifest;
pub(crate) mod package;
pub(crate) mod service;

pub(crate) use manifest::{Judged, Manifest, Release, Running, judge};
