//! ftaudit as a library: the stages glued into one scan. The binary (`src/main.rs`) only parses
//! arguments, calls [`scan::scan`], renders the report and picks the exit status.

pub mod assess;
pub mod exit;
pub mod lock;
pub mod policy;
pub mod publish;
pub mod scan;
pub mod stress;
pub mod workers;
