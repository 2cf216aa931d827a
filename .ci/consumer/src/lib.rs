//! The guide's snippets, compiled and run in a crate outside the workspace (as a user's
//! crate would): `cargo test --doc` here.

#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
struct GuideDoctests;
