//! The report model. These types *are* ftaudit's JSON contract: every output format (table,
//! JSON, HTML, the CI gate) renders from a [`Report`], and a report written by one version can
//! be read back into the same types (see `tests/roundtrip.rs`).
//!
//! Stages fill disjoint parts of the model: discovery fills [`NativeFile`] paths and
//! distributions, the static pass fills [`StaticFacts`], the dynamic probe fills
//! [`DynamicFacts`], and later stages (stress, gate) get fields of their own beside them.

pub mod dynamic_facts;
pub mod findings;
pub mod lock_facts;
pub mod matrix;
pub mod protocol;
pub mod report;
pub mod rules;
pub mod sandbox;
pub mod static_facts;
pub mod stress_facts;
pub mod synth_facts;

pub use dynamic_facts::*;
pub use findings::*;
pub use lock_facts::*;
pub use matrix::*;
pub use report::*;
pub use rules::*;
pub use sandbox::*;
pub use static_facts::*;
pub use stress_facts::*;
pub use synth_facts::*;

/// Bumped on any change a consumer could notice; additive changes bump the minor part.
pub const SCHEMA_VERSION: &str = "1.8";
